import { z } from 'zod';
import { RawTokenSchema } from '../tokens';

/** token-service request DTOs (API.md § token-service). The verify answer is VerifyResultSchema in tokens.ts. */

/** `POST /v1/verify` */
export const VerifyRequestSchema = z.object({
  access_token: RawTokenSchema,
});
export type VerifyRequest = z.infer<typeof VerifyRequestSchema>;

/** `GET /v1/userinfo` answer: OIDC UserInfo (OIDC Core §5.3); extra claims pass through. */
export const UserInfoResponseSchema = z.looseObject({
  sub: z.string().min(1),
  preferred_username: z.string().optional(),
  name: z.string().optional(),
  email: z.string().optional(),
});
export type UserInfoResponse = z.infer<typeof UserInfoResponseSchema>;

/** `POST /v1/introspect` form (RFC 7662 §2.1). */
export const IntrospectionFormSchema = z.object({
  token: RawTokenSchema,
  token_type_hint: z.enum(['access_token', 'refresh_token']).optional(),
});
export type IntrospectionForm = z.infer<typeof IntrospectionFormSchema>;

/** RFC 7662 §2.2 answer; only `active` is required, and an inactive answer carries nothing else. */
export const IntrospectionResponseSchema = z.looseObject({
  active: z.boolean(),
  sub: z.string().optional(),
  username: z.string().optional(),
  scope: z.string().optional(),
  client_id: z.string().optional(),
  token_type: z.string().optional(),
  exp: z.number().int().optional(),
  iat: z.number().int().optional(),
  iss: z.string().optional(),
});
export type IntrospectionResponse = z.infer<typeof IntrospectionResponseSchema>;
