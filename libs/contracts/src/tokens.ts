import { createHash } from 'node:crypto';
import { z } from 'zod';
import { AccountSchema } from './accounts';

/**
 * Token models. Raw tokens travel only between the IdP, Fedgate and the CLI;
 * anything stored, logged or published carries `sha256Hex(token)` instead.
 */

/** Lower-case hex SHA-256 of a token: the only form in which tokens are kept. */
export function sha256Hex(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export const TokenHashSchema = z.string().regex(/^[0-9a-f]{64}$/, 'must be a lower-case hex SHA-256 digest');
export type TokenHash = z.infer<typeof TokenHashSchema>;

/** An opaque token as received on the wire (bounded so a huge header cannot be hashed forever). */
export const TOKEN_MAX_CHARS = 16_384;
export const RawTokenSchema = z.string().min(1).max(TOKEN_MAX_CHARS);

const HttpUrlSchema = z.url({ protocol: /^https?$/ });
const positiveSeconds = z.number().int().positive();

/**
 * Answer to Flower's `GetLoginDetails`: an RFC 8628 device authorization plus
 * `authn_type`, exactly the fields the flwr CLI reads.
 */
export const DeviceAuthorizationResponseSchema = z.object({
  authn_type: z.literal('oidc'),
  device_code: RawTokenSchema,
  user_code: z.string().min(1),
  verification_uri: HttpUrlSchema,
  verification_uri_complete: HttpUrlSchema,
  expires_in: positiveSeconds,
  /** Seconds the CLI waits between polls (RFC 8628 default 5). */
  interval: positiveSeconds,
});
export type DeviceAuthorizationResponse = z.infer<typeof DeviceAuthorizationResponseSchema>;

/** Successful device-token or refresh answer, with the account the tokens belong to. */
export const TokenSetResponseSchema = z.object({
  access_token: RawTokenSchema,
  refresh_token: RawTokenSchema,
  token_type: z.literal('Bearer'),
  expires_in: positiveSeconds,
  account: AccountSchema,
});
export type TokenSetResponse = z.infer<typeof TokenSetResponseSchema>;

export const TOKEN_REJECTION_CODES = ['invalid_token', 'expired_token', 'revoked_token'] as const;
export type TokenRejectionCode = (typeof TOKEN_REJECTION_CODES)[number];
export const TokenRejectionCodeSchema = z.enum(TOKEN_REJECTION_CODES);

export const ActiveVerifyResultSchema = z.object({
  active: z.literal(true),
  account: AccountSchema,
  /** Space-delimited scopes granted to the token (RFC 6749 §3.3); may be empty. */
  scope: z.string(),
  /** Token expiry in seconds since the Unix epoch (as JWT `exp`). */
  expires_at: z.number().int().nonnegative(),
});

export const InactiveVerifyResultSchema = z.object({
  active: z.literal(false),
  error: TokenRejectionCodeSchema,
  error_description: z.string(),
});

/** `POST /v1/verify` answer: 200 when active, 401 when not. */
export const VerifyResultSchema = z.discriminatedUnion('active', [ActiveVerifyResultSchema, InactiveVerifyResultSchema]);
export type ActiveVerifyResult = z.infer<typeof ActiveVerifyResultSchema>;
export type InactiveVerifyResult = z.infer<typeof InactiveVerifyResultSchema>;
export type VerifyResult = z.infer<typeof VerifyResultSchema>;

/** Names shared with Flower: gRPC metadata keys and credential-file keys. */
export const FLWR_ACCESS_TOKEN_KEY = 'flwr-oidc-access-token';
export const FLWR_REFRESH_TOKEN_KEY = 'flwr-oidc-refresh-token';

/**
 * `.flwr/.credentials/<federation>.json` as written by `flwr login` (and by
 * `fedgate login`, which must stay interchangeable). Older Flower versions
 * write `auth-type`, newer ones `authn-type`; either is accepted.
 */
export const FlwrCredentialsFileSchema = z
  .object({
    'auth-type': z.literal('oidc').optional(),
    'authn-type': z.literal('oidc').optional(),
    [FLWR_ACCESS_TOKEN_KEY]: RawTokenSchema,
    [FLWR_REFRESH_TOKEN_KEY]: RawTokenSchema,
  })
  .refine((file) => file['auth-type'] !== undefined || file['authn-type'] !== undefined, {
    message: "needs 'auth-type' or 'authn-type'",
  });
export type FlwrCredentialsFile = z.infer<typeof FlwrCredentialsFileSchema>;
