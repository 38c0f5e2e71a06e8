import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DevIdpConfigError, devIdentityProviderOptionsFromEnv } from './index';

describe('devIdentityProviderOptionsFromEnv', () => {
  it('applies the local-stack defaults', () => {
    const options = devIdentityProviderOptionsFromEnv({ IDP_API_AUDIENCE: 'https://fedgate.local/api' }, '/repo');
    assert.deepEqual(options, {
      tls: { certFile: '/repo/.fedgate/tls/server.pem', keyFile: '/repo/.fedgate/tls/server-key.pem' },
      apiAudience: 'https://fedgate.local/api',
      port: 14000,
      host: '127.0.0.1',
      clientId: 'fedgate',
      jwksFile: '/repo/.fedgate/dev-idp/jwks.json',
    });
  });

  it('reads every variable', () => {
    const options = devIdentityProviderOptionsFromEnv(
      {
        IDP_PORT: '14001',
        IDP_CLIENT_ID: 'cli',
        IDP_API_AUDIENCE: 'https://api.test',
        FEDGATE_TLS_CERT: '/tls/cert.pem',
        FEDGATE_TLS_KEY: 'tls/key.pem',
        FEDGATE_IDP_JWKS_FILE: '/state/jwks.json',
        FEDGATE_IDP_ADMIN_KEY: 'admin-key-0123456789',
        FEDGATE_IDP_ISSUER: 'https://idp.test:14001',
        FEDGATE_IDP_HOST: '0.0.0.0',
        FEDGATE_IDP_CONFIDENTIAL_CLIENT_SECRET: 'confidential-0123456789',
        FEDGATE_IDP_ACCESS_TOKEN_TTL: '60',
        FEDGATE_IDP_USERS: '[{"username":"carol","password":"carol-pw","name":"Carol C"}]',
      },
      '/repo',
    );
    assert.deepEqual(options, {
      tls: { certFile: '/tls/cert.pem', keyFile: '/repo/tls/key.pem' },
      apiAudience: 'https://api.test',
      port: 14001,
      host: '0.0.0.0',
      clientId: 'cli',
      jwksFile: '/state/jwks.json',
      issuer: 'https://idp.test:14001',
      adminKey: 'admin-key-0123456789',
      confidentialClient: { clientSecret: 'confidential-0123456789' },
      users: [{ username: 'carol', password: 'carol-pw', name: 'Carol C' }],
      accessTokenTtlSeconds: 60,
    });
  });

  it('rejects bad values without echoing secrets', () => {
    assert.throws(() => devIdentityProviderOptionsFromEnv({}), DevIdpConfigError);
    assert.throws(
      () => devIdentityProviderOptionsFromEnv({ IDP_API_AUDIENCE: 'a', IDP_PORT: 'abc' }),
      /IDP_PORT must be a non-negative integer/,
    );
    assert.throws(
      () => devIdentityProviderOptionsFromEnv({ IDP_API_AUDIENCE: 'a', FEDGATE_IDP_ACCESS_TOKEN_TTL: '0' }),
      /FEDGATE_IDP_ACCESS_TOKEN_TTL must be a positive integer/,
    );
    assert.throws(
      () => devIdentityProviderOptionsFromEnv({ IDP_API_AUDIENCE: 'a', FEDGATE_IDP_USERS: '[{"username":"x","password":7}]' }),
      (error: unknown) => error instanceof DevIdpConfigError && !error.message.includes('7'),
    );
    assert.throws(
      () => devIdentityProviderOptionsFromEnv({ IDP_API_AUDIENCE: 'a', FEDGATE_IDP_USERS: '{"secret-password"' }),
      (error: unknown) => error instanceof DevIdpConfigError && !error.message.includes('secret-password'),
    );
  });
});
