import {
  constants as cryptoConstants,
  createHmac,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import type { JWK } from 'jose';

/**
 * A corpus of forged and malformed access tokens that a token verifier must refuse,
 * each with the code it must refuse it with. Built from one real token of the IdP, so
 * every forgery differs from a valid token in exactly the property under test.
 *
 * Shared test data: the token-verification specs use it, and so can integration suites
 * of the token service (`POST /v1/verify` must answer 401 with `expectedError` for each;
 * note `one-megabyte-token` may instead meet a request-size limit first).
 */

export type ForgedTokenExpectedError = 'invalid_token' | 'expired_token';

export interface ForgedToken {
  /** Stable kebab-case name, e.g. `alg-none`. */
  readonly name: string;
  /** What is wrong with it. */
  readonly description: string;
  readonly token: string;
  readonly expectedError: ForgedTokenExpectedError;
  /** Signed with the IdP's real private key (only the claim under test is wrong). */
  readonly signedWithIdpKey: boolean;
}

export interface ForgedTokenCorpusInput {
  /** A real, currently valid access token of the IdP (its claims are the template). */
  readonly validToken: string;
  readonly issuer: string;
  /** The audience the verifier expects. */
  readonly audience: string;
  /** The IdP's published JWKS (public keys), e.g. the body of its jwks_uri. */
  readonly idpJwks: { readonly keys: readonly JWK[] };
  /**
   * The IdP's current private signing key (a JWK with kid), e.g. from the dev IdP's JWKS
   * file. Enables the entries whose signature is genuine and only a claim is wrong:
   * expired, not yet valid, future iat, wrong issuer, wrong audience, missing exp/sub,
   * a sub that cannot be an account id, and PS256 with the RS256 key.
   */
  readonly idpPrivateJwk?: JWK;
  /** "Now", epoch seconds; default the current time. */
  readonly now?: number;
}

type Header = Record<string, unknown>;
type Claims = Record<string, unknown>;

const encoder = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

function signingInput(header: Header, claims: Claims): string {
  return `${encoder(header)}.${encoder(claims)}`;
}

function signWith(alg: string, key: KeyObject, data: string): string {
  const bytes = Buffer.from(data);
  switch (alg) {
    case 'RS256':
      return sign('sha256', bytes, key).toString('base64url');
    case 'PS256':
      return sign('sha256', bytes, { key, padding: cryptoConstants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }).toString('base64url');
    case 'ES256':
      return sign('sha256', bytes, { key, dsaEncoding: 'ieee-p1363' }).toString('base64url');
    default:
      throw new Error(`forged-tokens: cannot sign ${alg}`);
  }
}

function jwt(header: Header, claims: Claims, key: KeyObject): string {
  const input = signingInput(header, claims);
  return `${input}.${signWith(String(header['alg']), key, input)}`;
}

function hmacJwt(header: Header, claims: Claims, secret: Buffer | string): string {
  const input = signingInput(header, claims);
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

function decodeSegment(segment: string | undefined, what: string): Record<string, unknown> {
  if (segment === undefined) throw new TypeError(`forged-tokens: validToken has no ${what}`);
  const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TypeError(`forged-tokens: validToken ${what} is not an object`);
  return value as Record<string, unknown>;
}

/**
 * Builds the corpus. Without `idpPrivateJwk` the entries that need the IdP's real key
 * (signedWithIdpKey) are left out.
 */
export async function buildForgedTokenCorpus(input: ForgedTokenCorpusInput): Promise<ForgedToken[]> {
  const { validToken, issuer, audience } = input;
  const segments = validToken.split('.');
  if (segments.length !== 3) throw new TypeError('forged-tokens: validToken must be a JWS compact JWT');
  const [validHeaderSegment, validPayloadSegment, validSignature] = segments as [string, string, string];
  const validHeader = decodeSegment(validHeaderSegment, 'header');
  const validClaims = decodeSegment(validPayloadSegment, 'payload');
  const now = input.now ?? Math.floor(Date.now() / 1000);
  const idpKid = typeof validHeader['kid'] === 'string' ? validHeader['kid'] : undefined;
  const idpPublicJwk = input.idpJwks.keys.find((key) => key.kid === idpKid) ?? input.idpJwks.keys[0];
  if (idpPublicJwk === undefined) throw new TypeError('forged-tokens: idpJwks has no keys');

  // Fresh, otherwise valid claims: only the property under test differs.
  const claims: Claims = {
    ...validClaims,
    iss: issuer,
    aud: audience,
    iat: now,
    exp: now + 300,
    jti: randomBytes(12).toString('base64url'),
  };
  delete claims['nbf'];
  const header: Header = { ...validHeader, alg: 'RS256' };

  const attackerRsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const attackerEc = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const unknownKid = () => `unknown-${randomBytes(9).toString('base64url')}`;
  const idpPublicPem = createPublicKey({ key: idpPublicJwk as JsonWebKey, format: 'jwk' })
    .export({ type: 'spki', format: 'pem' })
    .toString();

  const corpus: ForgedToken[] = [];
  const add = (name: string, description: string, token: string, expectedError: ForgedTokenExpectedError = 'invalid_token', signedWithIdpKey = false): void => {
    corpus.push({ name, description, token, expectedError, signedWithIdpKey });
  };

  // --- unsigned / wrong algorithm family -------------------------------------------------
  add('alg-none', 'unsigned token: alg "none", empty signature', `${signingInput({ ...header, alg: 'none' }, claims)}.`);
  add('alg-none-capitalised', 'unsigned token: alg "None"', `${signingInput({ ...header, alg: 'None' }, claims)}.`);
  add(
    'alg-none-with-signature',
    'alg "none" but carrying the valid token\'s signature',
    `${signingInput({ ...header, alg: 'none' }, claims)}.${validSignature}`,
  );
  add('hs256-with-idp-public-key-pem', "HS256 keyed with the IdP's public key (SPKI PEM): the classic RS/HS confusion", hmacJwt({ ...header, alg: 'HS256' }, claims, idpPublicPem));
  add('hs256-with-idp-public-jwk', "HS256 keyed with the IdP's public JWK JSON", hmacJwt({ ...header, alg: 'HS256' }, claims, JSON.stringify(idpPublicJwk)));
  add('hs512-with-idp-modulus', "HS512-labelled token keyed with the IdP's RSA modulus bytes", hmacJwt({ ...header, alg: 'HS512' }, claims, Buffer.from(String(idpPublicJwk.n ?? ''), 'base64url')));
  add('alg-missing', 'header without "alg"', (() => {
    const { alg: _alg, ...noAlg } = header;
    return `${signingInput(noAlg, claims)}.${validSignature}`;
  })());

  // --- bad signatures -------------------------------------------------------------------
  add('wrong-signature', 'the valid header and claims with a random signature of the right length', `${validHeaderSegment}.${validPayloadSegment}.${randomBytes(Buffer.from(validSignature, 'base64url').length).toString('base64url')}`);
  add('signature-bit-flip', 'the valid token with one bit of its signature flipped', `${validHeaderSegment}.${validPayloadSegment}.${flipBit(validSignature)}`);
  add('tampered-payload', 'the valid signature over claims whose sub was changed', `${validHeaderSegment}.${encoder({ ...validClaims, sub: 'mallory' })}.${validSignature}`);
  add('signature-missing', 'the valid header and claims with an empty signature', `${validHeaderSegment}.${validPayloadSegment}.`);

  // --- keys the IdP does not publish ------------------------------------------------------
  add('unknown-kid', 'signed by a key the test made, under a kid the IdP does not publish', jwt({ ...header, kid: unknownKid() }, claims, attackerRsa.privateKey));
  add('self-signed-with-idp-kid', "signed by a key the test made, claiming the IdP's kid", jwt({ ...header, kid: idpKid }, claims, attackerRsa.privateKey));
  add('self-signed-without-kid', 'signed by a key the test made, no kid at all', (() => {
    const { kid: _kid, ...noKid } = header;
    return jwt(noKid, claims, attackerRsa.privateKey);
  })());
  add('self-signed-es256-with-idp-kid', "ES256 by a key the test made, claiming the IdP's (RSA) kid", jwt({ ...header, alg: 'ES256', kid: idpKid }, claims, attackerEc.privateKey));
  add('embedded-jwk', 'signed by a key the test made and carrying that key in the "jwk" header', (() => {
    const { kid: _kid, ...noKid } = header;
    return jwt({ ...noKid, jwk: attackerRsa.publicKey.export({ format: 'jwk' }) }, claims, attackerRsa.privateKey);
  })());
  add('jku-header', 'signed by a key the test made, pointing "jku" at an attacker-controlled JWKS', jwt({ ...header, kid: unknownKid(), jku: 'https://attacker.example/jwks.json' }, claims, attackerRsa.privateKey));
  add('x5u-header', 'signed by a key the test made, pointing "x5u" at an attacker-controlled certificate', jwt({ ...header, kid: unknownKid(), x5u: 'https://attacker.example/cert.pem' }, claims, attackerRsa.privateKey));
  add('self-signed-and-expired', 'signed by a key the test made AND expired: the signature must be judged first', jwt({ ...header, kid: idpKid }, { ...claims, iat: now - 7200, exp: now - 3600 }, attackerRsa.privateKey));

  // --- kid injection ---------------------------------------------------------------------
  const injectedKids: Array<[string, unknown]> = [
    ['kid-path-traversal', '../../../../../../etc/passwd'],
    ['kid-url', 'https://attacker.example/jwks.json'],
    ['kid-url-encoded-traversal', '..%2F..%2Fjwks'],
    ['kid-sql-injection', "x' OR '1'='1"],
    ['kid-crlf-header-injection', 'k\r\nX-Injected: 1'],
    ['kid-null-byte', 'k\u0000/etc/passwd'],
    ['kid-oversized', 'k'.repeat(1024)],
    ['kid-empty', ''],
    ['kid-not-a-string', { $ne: null }],
  ];
  for (const [name, kid] of injectedKids) {
    add(name, `kid ${JSON.stringify(kid).slice(0, 60)} tries injection; signed by a key the test made`, jwt({ ...header, kid }, claims, attackerRsa.privateKey));
  }

  // --- malformed input -------------------------------------------------------------------
  add('empty', 'empty string', '');
  add('whitespace', 'only blanks', '   ');
  add('bearer-prefixed', 'the valid token with a "Bearer " prefix (callers must strip it)', `Bearer ${validToken}`);
  add('truncated', 'the valid token cut in the middle of its payload', validToken.slice(0, validHeaderSegment.length + 1 + Math.floor(validPayloadSegment.length / 2)));
  add('truncated-signature', 'the valid token with the last 16 characters of its signature cut off', validToken.slice(0, -16));
  add('one-megabyte-token', 'a 1 MB token (valid header, huge payload): refused by size before parsing', `${validHeaderSegment}.${'A'.repeat(1024 * 1024)}.${validSignature}`);
  add('not-base64url', 'three segments of characters outside base64url', '@@@@.####.$$$$');
  add('header-not-json', 'header segment is base64url of a non-JSON text', `${Buffer.from('not json at all').toString('base64url')}.${validPayloadSegment}.${validSignature}`);
  add('header-json-array', 'header is a JSON array', `${encoder(['alg', 'RS256'])}.${validPayloadSegment}.${validSignature}`);
  add('payload-not-json', 'payload segment is base64url of a non-JSON text', `${validHeaderSegment}.${Buffer.from('{"sub":').toString('base64url')}.${validSignature}`);
  add('payload-json-string', 'payload is a JSON string, not an object', `${validHeaderSegment}.${encoder('alice')}.${validSignature}`);
  add('jwe-five-segments', 'a five-segment (JWE-shaped) token', `${validHeaderSegment}.a.b.c.d`);
  add('two-segments', 'header.payload without a signature segment', `${validHeaderSegment}.${validPayloadSegment}`);
  add('garbage', 'free text with spaces and punctuation', 'this is not a token; DROP TABLE tokens;');

  // --- genuine IdP signature, one wrong claim --------------------------------------------
  if (input.idpPrivateJwk !== undefined) {
    const idpKey = createPrivateKey({ key: input.idpPrivateJwk as JsonWebKey, format: 'jwk' });
    const kid = input.idpPrivateJwk.kid ?? idpKid;
    const idpHeader: Header = { ...header, alg: 'RS256', kid };
    const real = (name: string, description: string, changed: Claims, expected: ForgedTokenExpectedError = 'invalid_token', removed: string[] = []): void => {
      const payload: Claims = { ...claims, ...changed };
      for (const claim of removed) delete payload[claim];
      add(name, description, jwt(idpHeader, payload, idpKey), expected, true);
    };
    real('expired', 'genuinely signed, expired an hour ago', { iat: now - 7200, exp: now - 3600 }, 'expired_token');
    real('not-yet-valid', 'genuinely signed, nbf an hour from now', { nbf: now + 3600 });
    real('issued-in-the-future', 'genuinely signed, iat an hour from now', { iat: now + 3600, exp: now + 7200 });
    real('wrong-issuer', 'genuinely signed, iss of another issuer', { iss: 'https://attacker.example' });
    real('wrong-audience', 'genuinely signed, aud of another service', { aud: 'https://other-service.example/api' });
    real('missing-exp', 'genuinely signed, no exp (would never expire)', {}, 'invalid_token', ['exp']);
    real('missing-sub', 'genuinely signed, no sub (no account)', {}, 'invalid_token', ['sub']);
    real('sub-not-an-account-id', 'genuinely signed, sub that cannot be a Flower account id', { sub: 'user:alice#admin' });
    add(
      'alg-substitution-ps256',
      "PS256 signed with the IdP's RS256-only key (the JWK pins alg RS256)",
      jwt({ ...idpHeader, alg: 'PS256' }, claims, idpKey),
      'invalid_token',
      true,
    );
  }
  return corpus;
}

function flipBit(segment: string): string {
  const bytes = Buffer.from(segment, 'base64url');
  bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0x01;
  return bytes.toString('base64url');
}
