import { decodeJwt, decodeProtectedHeader, type JWTPayload, type ProtectedHeaderParameters } from 'jose';
import { TokenRejectedError, type UnverifiedTokenFacts } from './verified-token';

/**
 * Cheap, offline checks that run before any cryptography or network: size, characters,
 * structure, header (algorithm allow-list, kid syntax, no self-named keys). Everything
 * refused here is refused without touching the IdP.
 */

/** Asymmetric JWS algorithms a TokenVerifier may accept (never `none`, never HMAC). */
export const ASYMMETRIC_JWS_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;
export type AsymmetricJwsAlgorithm = (typeof ASYMMETRIC_JWS_ALGORITHMS)[number];

export const DEFAULT_ALGORITHMS: readonly AsymmetricJwsAlgorithm[] = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'EdDSA',
];

/** A `kid` must look like a key id, not like a path, URL, query or header. */
export const KID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;

const BASE64URL_SEGMENT = /^[A-Za-z0-9_-]*$/;
/** RFC 6750 §2.1 b64token. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
/** Header parameters that make a token name its own key; such a key is never trusted. */
const SELF_KEYED_HEADERS = ['jku', 'x5u', 'jwk'] as const;

export type InspectedToken =
  | {
      readonly kind: 'jwt';
      readonly header: ProtectedHeaderParameters;
      readonly claims: JWTPayload;
      readonly facts: UnverifiedTokenFacts;
    }
  | { readonly kind: 'opaque'; readonly facts: UnverifiedTokenFacts };

export interface TokenShapeRules {
  readonly maxTokenChars: number;
  readonly algorithms: readonly string[];
}

function invalid(description: string, facts: UnverifiedTokenFacts = {}, cause?: unknown): TokenRejectedError {
  return new TokenRejectedError('invalid_token', description, facts, cause);
}

/** Refuses non-strings, empty and oversized tokens — before the token is hashed or parsed. */
export function assertTokenSize(token: unknown, maxTokenChars: number): asserts token is string {
  if (typeof token !== 'string') throw invalid('The token must be a string.');
  if (token.length === 0) throw invalid('The token is empty.');
  if (token.length > maxTokenChars) {
    throw invalid(`The token is longer than ${maxTokenChars} characters; it was refused without parsing.`);
  }
}

/**
 * Classifies a token as a JWS-compact JWT (and decodes it, unverified) or an opaque
 * token, refusing anything malformed with `invalid_token` and a description that says why.
 */
export function inspectToken(token: unknown, rules: TokenShapeRules): InspectedToken {
  assertTokenSize(token, rules.maxTokenChars);
  if (/\s/.test(token) || /[\u0000-\u001f\u007f]/.test(token)) {
    throw invalid('The token contains whitespace or control characters (send the bare token, without "Bearer ").');
  }
  const segments = token.split('.');
  if (segments.length === 5) throw invalid('Encrypted tokens (JWE) are not accepted.');
  if (segments.length !== 3) {
    if (token.startsWith('eyJ')) {
      throw invalid(
        `The token looks like a truncated or malformed JWT: expected 3 dot-separated segments, found ${segments.length}.`,
      );
    }
    if (!B64TOKEN.test(token)) throw invalid('The token contains characters that a bearer token cannot contain.');
    return { kind: 'opaque', facts: { method: 'introspection' } };
  }
  return inspectJwt(token, segments as [string, string, string], rules);
}

function inspectJwt(token: string, segments: [string, string, string], rules: TokenShapeRules): InspectedToken {
  const [headerSegment, payloadSegment] = segments;
  segments.forEach((segment, index) => {
    if (!BASE64URL_SEGMENT.test(segment)) {
      throw invalid(`The token is not a valid JWT: its ${segmentName(index)} is not base64url-encoded.`);
    }
  });
  if (headerSegment === '' || payloadSegment === '') throw invalid('The token is not a valid JWT: a segment is empty.');

  let header: ProtectedHeaderParameters;
  try {
    header = decodeProtectedHeader(token);
  } catch (cause: unknown) {
    throw invalid('The token is not a valid JWT: its header is not a base64url-encoded JSON object.', {}, cause);
  }
  const kid = typeof header.kid === 'string' && KID_PATTERN.test(header.kid) ? header.kid : undefined;

  // Read what the claims say (unverified, for audit) before judging the header.
  let claims: JWTPayload | undefined;
  let claimsError: unknown;
  try {
    claims = decodeJwt(token);
  } catch (cause: unknown) {
    claimsError = cause;
  }
  const facts: UnverifiedTokenFacts = {
    method: 'jwt',
    ...(kid === undefined ? {} : { kid }),
    ...(typeof claims?.iss === 'string' ? { iss: truncate(claims.iss) } : {}),
    ...(typeof claims?.sub === 'string' ? { sub: truncate(claims.sub) } : {}),
  };

  const alg = header.alg;
  if (typeof alg !== 'string' || alg === '') throw invalid('The token names no signing algorithm ("alg").', facts);
  if (alg.toLowerCase() === 'none') throw invalid('The token is unsigned (alg "none"), which is never accepted.', facts);
  if (/^HS/i.test(alg)) {
    throw invalid(`The token uses a symmetric algorithm (${truncate(alg, 16)}), which is never accepted for IdP-signed tokens.`, facts);
  }
  if (!rules.algorithms.includes(alg)) {
    throw invalid(`The token's algorithm ${JSON.stringify(truncate(alg, 16))} is not in the accepted list.`, facts);
  }
  if (header.kid !== undefined && kid === undefined) {
    throw invalid('The token\'s key id ("kid") is not a plain key identifier (1-128 of A-Z a-z 0-9 . _ -).', facts);
  }
  for (const name of SELF_KEYED_HEADERS) {
    if (name in header) {
      throw invalid(`The token names its own key (header "${name}"); only the identity provider's published keys are trusted.`, facts);
    }
  }
  if (claims === undefined) {
    throw invalid('The token is not a valid JWT: its payload is not a base64url-encoded JSON object.', facts, claimsError);
  }
  return { kind: 'jwt', header, claims, facts };
}

/** Unverified kid / iss / sub of a token, for audit; never throws (oversized tokens yield nothing). */
export function readUnverifiedFacts(token: string, maxTokenChars: number): UnverifiedTokenFacts {
  try {
    return inspectToken(token, { maxTokenChars, algorithms: ASYMMETRIC_JWS_ALGORITHMS }).facts;
  } catch (error: unknown) {
    if (error instanceof TokenRejectedError) {
      const { kid, iss, sub, method } = error;
      return {
        ...(kid === undefined ? {} : { kid }),
        ...(iss === undefined ? {} : { iss }),
        ...(sub === undefined ? {} : { sub }),
        ...(method === undefined ? {} : { method }),
      };
    }
    return {};
  }
}

function segmentName(index: number): string {
  return ['header', 'payload', 'signature'][index] ?? `segment ${index + 1}`;
}

/** Unverified values end up in audit records: keep them short. */
function truncate(value: string, max = 256): string {
  return value.length <= max ? value : `${value.slice(0, max)}…`;
}
