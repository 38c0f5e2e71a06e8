// Runs the development OIDC identity provider for the local stack. Configuration comes
// from the environment (see README.md); all logic lives in @fedgate/dev-idp.
import {
  createDevIdentityProvider,
  devIdentityProviderOptionsFromEnv,
  jsonLinesLogger,
  type DevIdentityProvider,
} from '@fedgate/dev-idp';

async function main(): Promise<void> {
  const options = { ...devIdentityProviderOptionsFromEnv(process.env), logger: jsonLinesLogger };
  const idp = await createDevIdentityProvider(options);
  jsonLinesLogger({
    level: 'info',
    event: 'dev_idp.ready',
    issuer: idp.issuer,
    port: idp.port,
    discovery: `${idp.issuer}/.well-known/openid-configuration`,
    clientIds: [idp.clientId, ...(idp.confidentialClientId === undefined ? [] : [idp.confidentialClientId])],
    apiAudience: idp.apiAudience,
    signingKeyId: idp.signingKeyIds()[0],
    keyRotationEndpoint: options.adminKey !== undefined,
  });
  stopOnSignals(idp);
}

function stopOnSignals(idp: DevIdentityProvider): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    idp.close().then(
      () => {
        jsonLinesLogger({ level: 'info', event: 'dev_idp.stopped', signal });
        process.exit(0);
      },
      (error: unknown) => {
        jsonLinesLogger({ level: 'error', event: 'dev_idp.stop_failed', signal, errorMessage: messageOf(error) });
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

main().catch((error: unknown) => {
  // Config and startup errors name the variable or file, never a secret value.
  jsonLinesLogger({ level: 'error', event: 'dev_idp.start_failed', errorMessage: messageOf(error) });
  process.exit(1);
});
