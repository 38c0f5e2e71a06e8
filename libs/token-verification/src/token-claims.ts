import type { JWTPayload } from 'jose';
import { TokenVerificationError, accountFromClaims, type Account } from '@fedgate/contracts';
import { TokenRejectedError, type UnverifiedTokenFacts } from './verified-token';

// What a verified token's claims say (account, scope, session), from a JWT or an introspection answer.

export function invalid(description: string, facts: UnverifiedTokenFacts, cause?: unknown): TokenRejectedError {
  return new TokenRejectedError('invalid_token', description, facts, cause);
}

/** The account the claims name; claims that name none make the token invalid. */
export function accountOf(claims: Record<string, unknown>, facts: UnverifiedTokenFacts): Account {
  try {
    return accountFromClaims(claims as Parameters<typeof accountFromClaims>[0]);
  } catch (error: unknown) {
    if (error instanceof TokenVerificationError) throw invalid(error.description, facts, error);
    throw error;
  }
}

export function claimDescription(claim: string, reason: string): string {
  if (reason === 'missing') return `The token has no "${claim}" claim.`;
  switch (claim) {
    case 'iss':
      return 'The token was issued by another issuer ("iss" claim does not match).';
    case 'aud':
      return 'The token is not meant for this service ("aud" claim does not match).';
    case 'nbf':
      return 'The token is not valid yet ("nbf" claim is in the future).';
    case 'iat':
      return 'The token\'s "iat" claim is invalid.';
    default:
      return `The token's "${claim}" claim is invalid.`;
  }
}

export function scopeOf(payload: JWTPayload): string {
  if (typeof payload['scope'] === 'string') return payload['scope'];
  const scp = payload['scp'];
  if (Array.isArray(scp)) return scp.filter((s): s is string => typeof s === 'string').join(' ');
  if (typeof scp === 'string') return scp;
  return '';
}

export /** The IdP's session id (`sid`, OIDC Front-/Back-Channel Logout), when the token names one. */
function sessionIdOf(claims: Record<string, unknown>): { sid?: string } {
  const sid = claims['sid'];
  return typeof sid === 'string' && sid.length > 0 && sid.length <= 256 ? { sid } : {};
}
