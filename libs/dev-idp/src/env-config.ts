import { resolve } from 'node:path';
import type { DevIdentityProviderOptions } from './dev-identity-provider';
import { parseDevUserSeeds } from './dev-users';

/** Raised for unusable environment configuration; messages name the variable, never its secret value. */
export class DevIdpConfigError extends Error {
  override readonly name = 'DevIdpConfigError';
}

/**
 * Dev IdP options from the environment (infra/stack.env + .fedgate/secrets.env):
 *   IDP_PORT (default 14000)              FEDGATE_IDP_HOST (default 127.0.0.1)
 *   IDP_API_AUDIENCE (required)           FEDGATE_IDP_ISSUER (default https://127.0.0.1:<IDP_PORT>)
 *   IDP_CLIENT_ID (default fedgate)       FEDGATE_IDP_CONFIDENTIAL_CLIENT_SECRET (optional → fedgate-confidential)
 *   FEDGATE_TLS_CERT / FEDGATE_TLS_KEY (default .fedgate/tls/server.pem / server-key.pem)
 *   FEDGATE_IDP_JWKS_FILE (default .fedgate/dev-idp/jwks.json)
 *   FEDGATE_IDP_ADMIN_KEY (optional; enables POST /dev/rotate-keys)
 *   FEDGATE_IDP_USERS (optional JSON [{username, password, name?, email?}])
 *   FEDGATE_IDP_ACCESS_TOKEN_TTL (optional seconds, default 300)
 * Relative paths resolve against `workingDirectory` (default: the process's cwd).
 */
export function devIdentityProviderOptionsFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  workingDirectory: string = process.cwd(),
): DevIdentityProviderOptions {
  const value = (name: string): string | undefined => {
    const text = env[name]?.trim();
    return text === undefined || text === '' ? undefined : text;
  };
  const path = (name: string, fallback: string): string => resolve(workingDirectory, value(name) ?? fallback);
  const positiveInteger = (name: string, { allowZero }: { allowZero: boolean }): number | undefined => {
    const text = value(name);
    if (text === undefined) return undefined;
    const number = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(number) || (!allowZero && number === 0)) {
      throw new DevIdpConfigError(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer`);
    }
    return number;
  };

  const apiAudience = value('IDP_API_AUDIENCE');
  if (apiAudience === undefined) throw new DevIdpConfigError('IDP_API_AUDIENCE is required');
  const port = positiveInteger('IDP_PORT', { allowZero: true }) ?? 14000;
  if (port > 65535) throw new DevIdpConfigError('IDP_PORT must be at most 65535');

  const usersJson = value('FEDGATE_IDP_USERS');
  let users: DevIdentityProviderOptions['users'];
  if (usersJson !== undefined) {
    try {
      users = parseDevUserSeeds(usersJson);
    } catch (error: unknown) {
      throw new DevIdpConfigError(`FEDGATE_IDP_USERS: ${(error as Error).message}`);
    }
  }
  const issuer = value('FEDGATE_IDP_ISSUER');
  const adminKey = value('FEDGATE_IDP_ADMIN_KEY');
  const confidentialClientSecret = value('FEDGATE_IDP_CONFIDENTIAL_CLIENT_SECRET');
  const accessTokenTtlSeconds = positiveInteger('FEDGATE_IDP_ACCESS_TOKEN_TTL', { allowZero: false });

  return {
    tls: {
      certFile: path('FEDGATE_TLS_CERT', '.fedgate/tls/server.pem'),
      keyFile: path('FEDGATE_TLS_KEY', '.fedgate/tls/server-key.pem'),
    },
    apiAudience,
    port,
    host: value('FEDGATE_IDP_HOST') ?? '127.0.0.1',
    clientId: value('IDP_CLIENT_ID') ?? 'fedgate',
    jwksFile: path('FEDGATE_IDP_JWKS_FILE', '.fedgate/dev-idp/jwks.json'),
    ...(issuer === undefined ? {} : { issuer }),
    ...(adminKey === undefined ? {} : { adminKey }),
    ...(confidentialClientSecret === undefined ? {} : { confidentialClient: { clientSecret: confidentialClientSecret } }),
    ...(users === undefined ? {} : { users }),
    ...(accessTokenTtlSeconds === undefined ? {} : { accessTokenTtlSeconds }),
  };
}
