import { z } from 'zod';
import { apiKeysConfigSchema, databaseConfigSchema, kafkaConfigSchema, oidcConfigSchema, openfgaConfigSchema, serviceConfigSchema } from '@fedgate/platform';

/**
 * Each service's environment, in one place: the services validate their settings with
 * these at start, and the docker-compose check proves the compose file provides them.
 */
export const loginServiceConfigSchema = serviceConfigSchema
  .extend(databaseConfigSchema.shape)
  .extend(kafkaConfigSchema.shape)
  .extend(oidcConfigSchema.shape)
  .extend(apiKeysConfigSchema.shape)
  .extend({
    FEDGATE_OIDC_CLIENT_ID: z.string().min(1),
    /** Set for a confidential client of the IdP (client_secret_basic); public client otherwise. */
    FEDGATE_OIDC_CLIENT_SECRET: z.string().min(1).optional(),
    FEDGATE_OIDC_SCOPE: z.string().min(1).default('openid profile email offline_access'),
    /** JSON object of extra device-authorization parameters some IdPs need, e.g. {"audience":"..."}. */
    FEDGATE_OIDC_EXTRA_PARAMS: z.string().optional(),
    FEDGATE_OIDC_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5000),
  });
export type LoginServiceConfig = z.infer<typeof loginServiceConfigSchema>;

export const tokenServiceConfigSchema = serviceConfigSchema.extend(databaseConfigSchema.shape).extend(kafkaConfigSchema.shape).extend(oidcConfigSchema.shape);
export type TokenServiceConfig = z.infer<typeof tokenServiceConfigSchema>;

export const authzServiceConfigSchema = serviceConfigSchema.extend(databaseConfigSchema.shape).extend(kafkaConfigSchema.shape).extend(openfgaConfigSchema.shape);
export type AuthzServiceConfig = z.infer<typeof authzServiceConfigSchema>;

export const auditServiceConfigSchema = serviceConfigSchema.extend(databaseConfigSchema.shape).extend(kafkaConfigSchema.shape);
export type AuditServiceConfig = z.infer<typeof auditServiceConfigSchema>;

export const SERVICE_CONFIG_SCHEMAS = {
  'login-service': loginServiceConfigSchema,
  'token-service': tokenServiceConfigSchema,
  'authz-service': authzServiceConfigSchema,
  'audit-service': auditServiceConfigSchema,
} as const;
