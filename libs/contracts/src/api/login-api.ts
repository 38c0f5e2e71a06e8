import { z } from 'zod';
import { RawTokenSchema } from '../tokens';

/** login-service request DTOs (API.md § login-service). Answers are in tokens.ts. */

/** Scopes as RFC 6749 §3.3 space-delimited tokens of printable ASCII (no '"' or '\'). */
export const ScopeSchema = z
  .string()
  .max(1024)
  .regex(/^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$/, 'must be space-separated scope tokens');

/** `POST /v1/device/authorize` — `{}` or `{"scope": "..."}`. */
export const DeviceAuthorizeRequestSchema = z.object({
  scope: ScopeSchema.optional(),
});
export type DeviceAuthorizeRequest = z.infer<typeof DeviceAuthorizeRequestSchema>;

/** `POST /v1/device/token` — poll for tokens. */
export const DeviceTokenRequestSchema = z.object({
  device_code: RawTokenSchema,
});
export type DeviceTokenRequest = z.infer<typeof DeviceTokenRequestSchema>;

/** `POST /v1/token/refresh` */
export const RefreshRequestSchema = z.object({
  refresh_token: RawTokenSchema,
});
export type RefreshRequest = z.infer<typeof RefreshRequestSchema>;

/** `POST /v1/logout` — `refresh_token` and/or `access_token`; answers 204. */
export const LogoutRequestSchema = z
  .object({
    refresh_token: RawTokenSchema.optional(),
    access_token: RawTokenSchema.optional(),
  })
  .refine((body) => body.refresh_token !== undefined || body.access_token !== undefined, {
    message: 'refresh_token or access_token is required',
  });
export type LogoutRequest = z.infer<typeof LogoutRequestSchema>;

// RFC-shaped endpoints (form-encoded) for SuperLinks configured with authn_url / token_url.

export const DEVICE_CODE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:device_code';

/** `POST /oauth2/device_authorization` (RFC 8628 §3.1). */
export const OAuthDeviceAuthorizationFormSchema = z.object({
  client_id: z.string().min(1).optional(),
  scope: ScopeSchema.optional(),
});
export type OAuthDeviceAuthorizationForm = z.infer<typeof OAuthDeviceAuthorizationFormSchema>;

/** `POST /oauth2/token` — device-code poll (RFC 8628 §3.4) or refresh (RFC 6749 §6). */
export const OAuthTokenFormSchema = z.discriminatedUnion('grant_type', [
  z.object({
    grant_type: z.literal(DEVICE_CODE_GRANT_TYPE),
    device_code: RawTokenSchema,
    client_id: z.string().min(1).optional(),
  }),
  z.object({
    grant_type: z.literal('refresh_token'),
    refresh_token: RawTokenSchema,
    scope: ScopeSchema.optional(),
    client_id: z.string().min(1).optional(),
  }),
]);
export type OAuthTokenForm = z.infer<typeof OAuthTokenFormSchema>;

/** RFC 8628 §3.2 device authorization response. */
export const OAuthDeviceAuthorizationResponseSchema = z.object({
  device_code: RawTokenSchema,
  user_code: z.string().min(1),
  verification_uri: z.url({ protocol: /^https?$/ }),
  verification_uri_complete: z.url({ protocol: /^https?$/ }).optional(),
  expires_in: z.number().int().positive(),
  interval: z.number().int().positive().optional(),
});
export type OAuthDeviceAuthorizationResponse = z.infer<typeof OAuthDeviceAuthorizationResponseSchema>;

/** RFC 6749 §5.1 token response. */
export const OAuthTokenResponseSchema = z.object({
  access_token: RawTokenSchema,
  token_type: z.string().min(1),
  expires_in: z.number().int().positive().optional(),
  refresh_token: RawTokenSchema.optional(),
  id_token: RawTokenSchema.optional(),
  scope: z.string().optional(),
});
export type OAuthTokenResponse = z.infer<typeof OAuthTokenResponseSchema>;
