/**
 * @fedgate/token-verification — verifies the bearer access tokens of one OIDC identity
 * provider (JWT via JWKS with jose, opaque tokens via RFC 7662 introspection), with a
 * bounded, revocation-aware cache of verified tokens; the verifier is framework-free, and
 * tokenVerificationProviders wires it (with the session-revocation consumer) into a Nest service.
 */
export {
  TokenVerifier,
  type IntrospectionSettings,
  type TokenVerifierLike,
  type TokenVerifierOptions,
} from './token-verifier';
export { VerifiedTokenCache, type CacheSetOptions, type VerifiedTokenCacheOptions } from './verified-token-cache';
export {
  CachingTokenVerifier,
  type CachedVerification,
  type CachingTokenVerifierOptions,
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
export { VerifyAccessToken, TOKEN_EVENT_SOURCE } from './verify-access-token.use-case';
export { TOKEN_VERIFICATION_DEPS, type TokenVerificationDeps } from './token-verification-deps';
export { SessionRevocationListener, MAX_TOKEN_LIFETIME_SECONDS } from './session-revocation.listener';
export { createSessionRevocations, tokenVerificationProviders } from './token-verification.providers';
export {
  SessionRevocations,
  type SessionRevocationSource,
  type SessionRevocationsOptions,
  type TokenSession,
} from './session-revocations';
