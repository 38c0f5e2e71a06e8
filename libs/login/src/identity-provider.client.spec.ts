import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FedgateError } from '@fedgate/contracts';
import { createThrowawayTls, trustCertificateAuthorityForFetch } from '@fedgate/dev-idp';
import { IdentityProviderClient, IdpGrantError } from './identity-provider.client';
import { completeVerificationUri } from './start-device-login.use-case';

/** A minimal standards-shaped IdP whose token endpoint misbehaves on demand. */
let tokenMode: 'pending' | 'crash' | 'hang' = 'pending';
let server: https.Server;
let issuer: string;
let untrust: () => Promise<void>;

before(async () => {
  const tls = await createThrowawayTls(mkdtempSync(path.join(os.tmpdir(), 'fake-idp-')));
  untrust = await trustCertificateAuthorityForFetch(tls.caPem);
  server = https.createServer({ cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) }, (req, res) => {
    const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.url === '/.well-known/openid-configuration') {
      return json(200, { issuer, device_authorization_endpoint: `${issuer}/device`, token_endpoint: `${issuer}/token`, jwks_uri: `${issuer}/jwks` });
    }
    if (req.url === '/device') return json(200, { device_code: 'dc-1', user_code: 'ABCD-EFGH', verification_uri: `${issuer}/activate`, expires_in: 600 });
    if (req.url === '/token') {
      if (tokenMode === 'pending') return json(400, { error: 'authorization_pending' });
      if (tokenMode === 'crash') return json(500, { error: 'server_error' });
      return; // hang: never answer
    }
    json(404, {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await untrust();
});

// 1.5 s: answers of the in-process IdP can take several hundred ms on a loaded shared machine
const client = () => new IdentityProviderClient({ issuer, clientId: 'fedgate', defaultScope: 'openid offline_access', timeoutMs: 1500 });

describe('IdentityProviderClient (standards only, against a minimal IdP)', () => {
  it('starts a device authorization with the default scope, tolerating a missing verification_uri_complete', async () => {
    const started = await client().startDeviceAuthorization(undefined);
    assert.equal(started.scope, 'openid offline_access');
    assert.equal(started.verification_uri_complete, undefined);
    assert.equal(completeVerificationUri(started.verification_uri, started.user_code), `${issuer}/activate?user_code=ABCD-EFGH`);
  });

  it('passes the IdP grant errors through as values', async () => {
    tokenMode = 'pending';
    await assert.rejects(client().pollDeviceCode('dc-1'), (err: unknown) => err instanceof IdpGrantError && err.error === 'authorization_pending');
  });

  it('turns an IdP failure into 503 idp_unavailable', async () => {
    tokenMode = 'crash';
    await assert.rejects(client().pollDeviceCode('dc-1'), (err: unknown) => err instanceof FedgateError && err.code === 'idp_unavailable' && err.status === 503);
  });

  it('does not hang on an IdP that never answers', async () => {
    tokenMode = 'hang';
    const started = Date.now();
    await assert.rejects(client().pollDeviceCode('dc-1'), (err: unknown) => err instanceof FedgateError && err.code === 'idp_unavailable' && /timed out/.test(err.message));
    assert.ok(Date.now() - started < 3000);
  });

  it('answers idp_unavailable for an unreachable issuer, and revocation false where the IdP offers none', async () => {
    const nowhere = new IdentityProviderClient({ issuer: 'https://127.0.0.1:9', clientId: 'x', defaultScope: 'openid', timeoutMs: 300 });
    await assert.rejects(nowhere.startDeviceAuthorization(undefined), { code: 'idp_unavailable' });
    assert.equal(await client().revoke('some-token', 'refresh_token'), false);
  });
});
