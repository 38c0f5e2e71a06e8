import { z } from 'zod';
import { TokenVerificationError } from './errors';
import { openfgaIdProblem } from './openfga-ids';

/**
 * A Flower account id: the OIDC `sub` of the user, used verbatim as the id of
 * the OpenFGA user `flwr_aid:<sub>` (Flower's documented model). It therefore
 * obeys OpenFGA's object-id rules: no whitespace, no control characters, no
 * '#', no ':' (the type separator) and not the wildcard '*'.
 */
export const FLWR_AID_MAX_CHARS = 256;

export const FlwrAidSchema = z.string().superRefine((value, context) => {
  const problem = openfgaIdProblem(value, FLWR_AID_MAX_CHARS);
  if (problem) context.addIssue({ code: 'custom', message: problem });
});
export type FlwrAid = z.infer<typeof FlwrAidSchema>;

export function isFlwrAid(value: unknown): value is FlwrAid {
  return FlwrAidSchema.safeParse(value).success;
}

export const ACCOUNT_NAME_MAX_CHARS = 256;

/** A human-readable name for display and audit; never used for decisions. */
export const AccountNameSchema = z.string().min(1).max(ACCOUNT_NAME_MAX_CHARS);

/** The principal as the SuperLink sees it (Flower's `AccountInfo`). */
export const AccountSchema = z.object({
  flwr_aid: FlwrAidSchema,
  account_name: AccountNameSchema,
});
export type Account = z.infer<typeof AccountSchema>;

/** The OIDC claims Fedgate reads to name an account; any other claim is ignored. */
export interface AccountClaims {
  sub: string;
  preferred_username?: unknown;
  name?: unknown;
  email?: unknown;
  [claim: string]: unknown;
}

/**
 * The account name shown to people: preferred_username, else name, else email,
 * else the sub. A claim counts only if it is a non-blank string that fits the
 * account-name bound, so a malformed IdP claim falls through instead of failing.
 */
export function accountNameFromClaims(claims: AccountClaims): string {
  for (const candidate of [claims.preferred_username, claims.name, claims.email]) {
    if (typeof candidate !== 'string') continue;
    const trimmed = candidate.trim();
    if (trimmed.length > 0 && trimmed.length <= ACCOUNT_NAME_MAX_CHARS) return trimmed;
  }
  return claims.sub;
}

/**
 * Builds the Account for verified claims. A sub that cannot be an OpenFGA id
 * makes the token unusable for Fedgate, hence `invalid_token` (not a 500).
 */
export function accountFromClaims(claims: AccountClaims): Account {
  const problem = typeof claims.sub === 'string' ? openfgaIdProblem(claims.sub, FLWR_AID_MAX_CHARS) : 'must be a string';
  if (problem) {
    throw new TokenVerificationError('invalid_token', `The token's sub claim cannot be a Flower account id: it ${problem}.`);
  }
  return { flwr_aid: claims.sub, account_name: accountNameFromClaims(claims) };
}
