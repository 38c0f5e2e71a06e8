import { z } from 'zod';
import { AccountNameSchema, FlwrAidSchema } from './accounts';

/**
 * Who acted (API.md "Who is calling"): a person, proven by their own access token, or a
 * service key, proven by itself. Nothing else can be an actor: no body field names one.
 */

/** The name a service key is configured with (FEDGATE_API_KEYS), e.g. `superlink-a`. */
export const ApiKeyNameSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1-64 letters, digits, . _ - (starting with a letter or digit)');
export type ApiKeyName = z.infer<typeof ApiKeyNameSchema>;

/** The roles a service key can hold. */
export const API_KEY_ROLES = ['superlink', 'audit-reader', 'authz-admin'] as const;
export type ApiKeyRole = (typeof API_KEY_ROLES)[number];
export const ApiKeyRoleSchema = z.enum(API_KEY_ROLES);

export const PersonPrincipalSchema = z.object({
  kind: z.literal('person'),
  flwr_aid: FlwrAidSchema,
  account_name: AccountNameSchema.optional(),
});
export const KeyPrincipalSchema = z.object({
  kind: z.literal('key'),
  name: ApiKeyNameSchema,
});
export const PrincipalSchema = z.discriminatedUnion('kind', [PersonPrincipalSchema, KeyPrincipalSchema]);
export type Principal = z.infer<typeof PrincipalSchema>;
export type PersonPrincipal = z.infer<typeof PersonPrincipalSchema>;
export type KeyPrincipal = z.infer<typeof KeyPrincipalSchema>;

/**
 * A key's id in the audit log's actor column: `key:<name>`. An account id can never contain
 * ':' (FlwrAidSchema), so no person, whatever their IdP subject, can appear as a key.
 */
export const KEY_ACTOR_PREFIX = 'key:';
export function keyActorId(name: ApiKeyName): string {
  return `${KEY_ACTOR_PREFIX}${name}`;
}

/** An audit actor id: an account id, or `key:<name>` for a service key. */
export const AuditActorIdSchema = z.union([FlwrAidSchema, z.string().startsWith(KEY_ACTOR_PREFIX).pipe(z.string().max(KEY_ACTOR_PREFIX.length + 64))]);

/** The audit actor of a principal. */
export function auditActorOf(principal: Principal): { flwr_aid: string; account_name?: string } {
  return principal.kind === 'key' ? { flwr_aid: keyActorId(principal.name), account_name: principal.name } : { flwr_aid: principal.flwr_aid, account_name: principal.account_name };
}

/** A short human form for messages: `alice` or `key superlink-a`. */
export function describePrincipal(principal: Principal): string {
  return principal.kind === 'key' ? `key ${principal.name}` : principal.flwr_aid;
}
