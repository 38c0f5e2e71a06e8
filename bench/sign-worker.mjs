// Worker for bench/verify.mjs: signs RS256 JWTs (RSASSA-PKCS1-v1_5 + SHA-256, exactly what jose's
// SignJWT produces for alg RS256) with node:crypto, off the main thread. Every token gets its own jti.
import { createPrivateKey, randomBytes, sign } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';

const { privateJwk, header, claims, count, lifetimeSeconds } = workerData;
const key = createPrivateKey({ key: privateJwk, format: 'jwk' });
const encodedHeader = Buffer.from(JSON.stringify(header)).toString('base64url');
const tokens = new Array(count);
for (let i = 0; i < count; i++) {
  const iat = Math.floor(Date.now() / 1000);
  // same claims in the same order as the IdP's token; a fresh 43-char jti like oidc-provider's
  const payload = { ...claims, jti: randomBytes(32).toString('base64url'), iat, exp: iat + lifetimeSeconds };
  const signingInput = `${encodedHeader}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  tokens[i] = `${signingInput}.${sign('sha256', Buffer.from(signingInput), key).toString('base64url')}`;
}
parentPort.postMessage(tokens);
