import { DeviceAuthorizationResponse, createCloudEvent, sha256Hex, type RequestOrigin } from '@fedgate/contracts';
import { LOGIN_EVENT_SOURCE, type LoginDeps } from './login-settings';

/**
 * `flwr login` step 1: start a device authorization at the IdP and answer Flower's login
 * details. Only a hash of the device code is stored; the caller keeps the code.
 */
export class StartDeviceLogin {
  constructor(private readonly deps: LoginDeps) {}

  async execute(scope: string | undefined, origin: RequestOrigin): Promise<DeviceAuthorizationResponse> {
    const started = await this.deps.idp.startDeviceAuthorization(scope);
    const interval = started.interval ?? this.deps.deviceFlow.defaultIntervalSeconds;
    const deviceCodeHash = sha256Hex(started.device_code);
    await this.deps.prisma.$transaction(async (tx) => {
      await tx.deviceLogin.create({
        data: {
          deviceCodeHash,
          scope: started.scope,
          interval,
          expiresAt: new Date(Date.now() + started.expires_in * 1000),
          clientId: origin.client_id,
          sourceIp: origin.source_ip,
        },
      });
      await this.deps.outbox.append(tx, [
        createCloudEvent({
          type: 'fedgate.login.started.v1',
          source: LOGIN_EVENT_SOURCE,
          data: { device_code_hash: deviceCodeHash, scope: started.scope, expires_in: started.expires_in, interval, idp_issuer: this.deps.idp.issuer, origin },
        }),
      ]);
    });
    return {
      authn_type: 'oidc',
      device_code: started.device_code,
      user_code: started.user_code,
      verification_uri: started.verification_uri,
      verification_uri_complete: started.verification_uri_complete ?? completeVerificationUri(started.verification_uri, started.user_code),
      expires_in: started.expires_in,
      interval,
    };
  }
}

/** RFC 8628 §3.3.1: the verification URI with the user code, for IdPs that do not send one. */
export function completeVerificationUri(verificationUri: string, userCode: string): string {
  const url = new URL(verificationUri);
  url.searchParams.set('user_code', userCode);
  return url.toString();
}
