/**
 * @fedgate/token-verification — verifies the bearer access tokens of one OIDC identity
 * provider (JWT via JWKS with jose, opaque tokens via RFC 7662 introspection), with a
 * bounded, revocation-aware cache of verified tokens. Framework-free.
 */
export {
  TokenVerifier,
  type IntrospectionSettings,
  type TokenVerifierLike,
  type TokenVerifierOptions,
  type TokenVerifierStats,
} from './token-verifier';
export { VerifiedTokenCache, type CacheSetOptions, type VerifiedTokenCacheOptions } from './verified-token-cache';
export {
  CachingTokenVerifier,
  type CachedVerification,
  type CachingTokenVerifierOptions,
  type CachingTokenVerifierStats,
} from './caching-token-verifier';
export {
  TokenRejectedError,
  toActiveVerifyResult,
  toInactiveVerifyResult,
  type TokenRejectedCode,
  type UnverifiedTokenFacts,
  type VerificationMethod,
  type VerifiedToken,
} from './verified-token';
export {
  ASYMMETRIC_JWS_ALGORITHMS,
  DEFAULT_ALGORITHMS,
  KID_PATTERN,
  readUnverifiedFacts,
  type AsymmetricJwsAlgorithm,
} from './token-shape';
// Test data shared with the token service's integration suites.
export {
  buildForgedTokenCorpus,
  type ForgedToken,
  type ForgedTokenCorpusInput,
  type ForgedTokenExpectedError,
} from './testing/forged-tokens';
export { VerifyAccessToken, TOKEN_EVENT_SOURCE, type VerificationOrigin } from './verify-access-token.use-case';
export {
  SessionRevocations,
  type SessionRevocationSource,
  type SessionRevocationsOptions,
  type TokenSession,
} from './session-revocations';
