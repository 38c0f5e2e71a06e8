import { z } from 'zod';
import { FlwrAidSchema } from '../accounts';
import { ServiceNameSchema } from '../authorization';

/**
 * `.fedgate/stack.json`, written at the repository root by the command that
 * starts the local stack, read by tools and tests to find everything.
 */
export const STACK_FILE_PATH = '.fedgate/stack.json';

const BaseUrlSchema = z.url({ protocol: /^https?$/ });

export const StackFileSchema = z.object({
  services: z.object({
    login: BaseUrlSchema,
    token: BaseUrlSchema,
    authz: BaseUrlSchema,
    audit: BaseUrlSchema,
  }),
  /** Path of the CA certificate that signed the services' TLS certificates. */
  ca_cert: z.string().min(1),
  /** The SuperLink's key: role `superlink`, for `service_name` only (the SuperLink holds it). */
  api_key: z.string().min(1),
  /** The operator's key: `authz-admin` + `audit-reader` (rebuild, service membership recovery, audit reads). */
  admin_api_key: z.string().min(1),
  /**
   * A second SuperLink service and its own `superlink` key, configured by the dev stack so tests
   * can prove that a key for one service is refused on another.
   */
  other_service: z.object({ service_name: ServiceNameSchema, api_key: z.string().min(1) }).optional(),
  idp: z.object({
    issuer: BaseUrlSchema,
    /** The IdP's public client and the API audience of its access tokens. */
    client_id: z.string().min(1).optional(),
    audience: z.string().min(1).optional(),
    /** The CA file the services trust for this IdP, beside the stack's own (--idp-ca-file). */
    ca_file: z.string().min(1).optional(),
    /** `dev` (the stack's dev IdP) or `external` (npm run stack -- --idp ...). */
    kind: z.enum(['dev', 'external']).optional(),
    /** Users whose passwords the stack knows (the dev IdP's, or those keycloak.sh created); empty otherwise. */
    users: z.array(z.object({ username: z.string().min(1), password: z.string() })),
  }),
  kafka: z.object({
    /** `host:port` bootstrap servers. */
    brokers: z.array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'must be host:port')).min(1),
    /** The operator principal's SASL/SCRAM credentials (tools and tests; kafkajs's `sasl` option as is). */
    sasl: z.object({
      mechanism: z.literal('scram-sha-512'),
      username: z.string().min(1),
      password: z.string().min(1),
    }),
  }),
  openfga: z.object({
    url: BaseUrlSchema,
    store_id: z.string().min(1),
    /** Preshared key of the local OpenFGA (development only). */
    api_key: z.string().min(1).optional(),
  }),
  postgres: z.object({
    url: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL'),
  }),
  /** The SuperLink's `service:<name>` object id. */
  service_name: ServiceNameSchema,
  /** Bootstrap admin of that service by account id (the dev IdP's user names are their `sub`). */
  admin_flwr_aid: FlwrAidSchema.optional(),
  /** Bootstrap admin by username or verified email, resolved to an account at its first login (another IdP). */
  admin_login: z.string().min(1).optional(),
});
export type StackFile = z.infer<typeof StackFileSchema>;
