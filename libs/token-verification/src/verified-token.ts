import {
  TokenVerificationError,
  type Account,
  type ActiveVerifyResult,
  type InactiveVerifyResult,
  type TokenRejectionCode,
} from '@fedgate/contracts';

/** How a token was verified: a JWT against the IdP's JWKS, or RFC 7662 introspection at the IdP. */
export type VerificationMethod = 'jwt' | 'introspection';

/** A token that verified: who it belongs to, what it may do and until when. */
export interface VerifiedToken {
  readonly account: Account;
  /** Space-delimited scopes (JWT `scope`, or `scp` joined); empty when the token names none. */
  readonly scope: string;
  /** Token expiry, seconds since the Unix epoch (the `exp` claim). */
  readonly expires_at: number;
  readonly method: VerificationMethod;
  /** Key id of the JWT's signing key (absent for introspection and kid-less JWTs). */
  readonly kid?: string;
  readonly iss?: string;
  readonly sub?: string;
  /** The OAuth client the token was issued to, when the token says so. */
  readonly client_id?: string;
  /** The IdP's session id (`sid` claim), when the IdP sends one: revoking the session refuses the token. */
  readonly sid?: string;
}

/**
 * What could be read from a token WITHOUT verifying it — for audit records only
 * (never for a decision): the signing key id, the claimed issuer and subject.
 */
export interface UnverifiedTokenFacts {
  readonly kid?: string;
  readonly iss?: string;
  readonly sub?: string;
  readonly method?: VerificationMethod;
}

/** invalid_token | expired_token | revoked_token */
export type TokenRejectedCode = TokenRejectionCode;

/**
 * A token was refused (`invalid_token` | `expired_token` | `revoked_token`, HTTP 401).
 * Carries, as extra read-only fields, what could be read from the token unverified
 * (kid, iss, sub) so an audit record can say which key / issuer / account was claimed.
 * These values are attacker-controlled: log them, never trust them.
 */
export class TokenRejectedError extends TokenVerificationError {
  override readonly code: TokenRejectedCode;
  readonly kid: string | undefined;
  readonly iss: string | undefined;
  readonly sub: string | undefined;
  readonly method: VerificationMethod | undefined;

  constructor(code: TokenRejectedCode, description: string, facts: UnverifiedTokenFacts = {}, cause?: unknown) {
    super(code, description, cause === undefined ? undefined : { cause });
    this.code = code;
    this.kid = facts.kid;
    this.iss = facts.iss;
    this.sub = facts.sub;
    this.method = facts.method;
  }
}

/** The 200 body of `POST /v1/verify` for a verified token. */
export function toActiveVerifyResult(token: VerifiedToken): ActiveVerifyResult {
  return { active: true, account: token.account, scope: token.scope, expires_at: token.expires_at };
}

/** The 401 body of `POST /v1/verify` for a refused token. */
export function toInactiveVerifyResult(error: TokenVerificationError & { code: TokenRejectedCode }): InactiveVerifyResult {
  return { active: false, error: error.code, error_description: error.description };
}
