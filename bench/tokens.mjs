// Access tokens for the benches (bench/verify, bench/authorize): the dev IdP's own shape, signed
// with its current private key (in .fedgate/data/dev-idp/jwks.json) in worker threads.
import { readFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';

/**
 * The built Fedgate libraries of the worktree at `root` (as `app`, e.g. 'token-service', resolves
 * them), when built: `require(name)` or undefined; and the service's verification rules
 * (libs/token-verification's algorithms, the stack's clock tolerance).
 */
export function builtLibraries(root, app) {
  const require = createRequire(path.join(root, `dist/apps/${app}/src/main.js`));
  const tryRequire = (name) => {
    try {
      return require(name);
    } catch {
      return undefined;
    }
  };
  const verification = tryRequire('@fedgate/token-verification');
  return {
    require,
    tryRequire,
    verification,
    algorithms: verification?.DEFAULT_ALGORITHMS ?? ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'EdDSA'],
    clockTolerance: Number(process.env.FEDGATE_TOKEN_CLOCK_SKEW_SECONDS ?? 30),
  };
}

/** The IdP's published JWKS and the private JWK of its current signer (the first key). */
export async function idpKeys(stack, stateDir, ca) {
  const jwks = await getJson(new URL('/jwks', stack.idp.issuer), ca);
  const currentKid = jwks.keys[0].kid; // libs/dev-idp: the JWKS lists the current signer first
  const privateJwk = JSON.parse(readFileSync(path.join(stateDir, 'data/dev-idp/jwks.json'), 'utf8')).keys.find((k) => k.kid === currentKid);
  if (!privateJwk) throw new Error(`no private key with the IdP's current kid ${currentKid} in ${stateDir}/data/dev-idp/jwks.json`);
  if (privateJwk.n !== jwks.keys[0].n) throw new Error(`the private key ${currentKid} does not match the published one`);
  return { jwks, currentKid, privateJwk };
}

/**
 * Header and claims of a real access token of the dev IdP (a device login as alice through the
 * login-service, when `testing` — the built @fedgate/testing — and the CA are at hand), else the
 * known shape. `note(text)` is told when the login fails.
 */
export async function tokenShape(stack, currentKid, { login = true, testing, note = () => undefined } = {}) {
  const known = {
    source: 'built-in copy of the dev IdP access token',
    header: { alg: 'RS256', typ: 'at+jwt', kid: currentKid },
    claims: { preferred_username: 'alice', name: 'Alice Example', email: 'alice@example.test', jti: '', sub: 'alice', iat: 0, exp: 0, client_id: stack.idp.client_id, iss: stack.idp.issuer, aud: stack.idp.audience },
  };
  if (!login || !testing || !process.env.NODE_EXTRA_CA_CERTS) return known;
  try {
    const tokens = await testing.deviceLogin(stack, 'alice');
    const [h, p] = tokens.access_token.split('.');
    const header = JSON.parse(Buffer.from(h, 'base64url').toString());
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    if (header.kid !== currentKid) throw new Error(`the IdP signs with ${header.kid}, not the first JWKS key ${currentKid}`);
    return { source: `copied from a real token (device login as alice, ${tokens.access_token.length} chars, lifetime ${claims.exp - claims.iat} s)`, header, claims };
  } catch (err) {
    note(`warning: no real token (${err.message}); using the built-in shape`);
    return known;
  }
}

/** `count` distinct tokens (fresh jti each) of `shape`, signed in one worker per core. */
export async function signTokens(privateJwk, shape, count, lifetimeSeconds) {
  const workers = os.availableParallelism();
  const per = Math.ceil(count / workers);
  const parts = await Promise.all(
    Array.from({ length: workers }, (_, w) => {
      const n = Math.max(0, Math.min(per, count - w * per));
      return new Promise((resolve, reject) => {
        const worker = new Worker(new URL('./sign-worker.mjs', import.meta.url), {
          workerData: { privateJwk, header: shape.header, claims: shape.claims, count: n, lifetimeSeconds },
        });
        worker.once('message', resolve);
        worker.once('error', reject);
      });
    }),
  );
  const all = parts.flat();
  if (new Set(all).size !== all.length) throw new Error('duplicate tokens');
  return all;
}

/** The service's verification options (libs/token-verification), as jose jwtVerify takes them. */
export function verifyOptionsOf(stack, algorithms, clockTolerance) {
  return { issuer: stack.idp.issuer, audience: [stack.idp.audience], algorithms, clockTolerance, requiredClaims: ['exp', 'sub'] };
}

export function getJson(url, ca) {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString()));
          } catch (err) {
            reject(err);
          }
        });
      })
      .on('error', reject);
  });
}
