import type { OutboxGroupWriter } from '@fedgate/database';
import type { CachingTokenVerifier } from './caching-token-verifier';

/**
 * Everything the lib's use cases are built from, provided once by `tokenVerificationProviders`
 * under `TOKEN_VERIFICATION_DEPS`: each use case takes this one object (`new VerifyAccessToken(deps)`),
 * so an app registers it by name with platform's `provideUseCases`.
 */
export interface TokenVerificationDeps {
  verifier: CachingTokenVerifier;
  /** Where the audit events go: the outbox, group-committed. */
  audit: Pick<OutboxGroupWriter, 'append'>;
  /** Record successful verifications too (refusals are always recorded). */
  auditSuccess: boolean;
}

export const TOKEN_VERIFICATION_DEPS = Symbol('TOKEN_VERIFICATION_DEPS');
