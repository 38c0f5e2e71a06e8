import { z } from 'zod';
import { API_KEY_ROLES, ApiKeyNameSchema, ServiceNameSchema, TOPIC_NAMES } from '@fedgate/contracts';
import { databaseConfigSchema, kafkaConfigSchema, oidcConfigSchema, openfgaConfigSchema, serviceConfigSchema, type ConfiguredKey } from '@fedgate/platform';

/**
 * FEDGATE_API_KEYS, the one place its format is read: comma-separated entries
 * `name:sha256hex:role+role:service+service` (services `*` = every service; none = no service,
 * e.g. an audit reader). Keys are configured by their SHA-256 only, so no service holds a
 * usable key; roles are `superlink`, `audit-reader`, `authz-admin` (API.md "Who is calling").
 * A name may appear twice with the same roles and services: the old and the new key of a rotation.
 */
export const ApiKeysSchema = z.string().transform((value, context): ConfiguredKey[] => {
  const keys: ConfiguredKey[] = [];
  const fail = (message: string) => {
    context.addIssue({ code: 'custom', message });
    return z.NEVER;
  };
  for (const entry of value.split(',').map((e) => e.trim()).filter(Boolean)) {
    const [name = '', hash = '', roles = '', services = '', ...rest] = entry.split(':');
    const label = ApiKeyNameSchema.safeParse(name).success ? `'${name}'` : `entry ${keys.length + 1}`;
    if (rest.length > 0 || !ApiKeyNameSchema.safeParse(name).success) return fail(`${label} must be name:sha256hex:role+role:service+service`);
    if (!/^[0-9a-f]{64}$/.test(hash)) return fail(`${label}: the key must be given as its lower-case hex SHA-256`);
    const roleList = roles.split('+').filter(Boolean);
    const unknown = roleList.find((r) => !(API_KEY_ROLES as readonly string[]).includes(r));
    if (unknown) return fail(`${label}: unknown role '${unknown}' (roles: ${API_KEY_ROLES.join(', ')})`);
    const serviceList = services === '*' ? '*' : services.split('+').filter(Boolean);
    const badService = serviceList === '*' ? undefined : serviceList.find((s) => !ServiceNameSchema.safeParse(s).success);
    if (badService !== undefined) return fail(`${label}: '${badService}' is not a service name`);
    // one name twice is a rotation (old and new key side by side): only with the same roles and services
    const same = (k: ConfiguredKey) => JSON.stringify([k.roles, k.services]) === JSON.stringify([roleList, serviceList]);
    if (keys.some((k) => k.client_id === name && !same(k))) return fail(`${label} is configured twice with different roles or services`);
    if (keys.some((k) => k.keySha256.toString('hex') === hash)) return fail(`${label} has the same key as another entry`);
    keys.push({ client_id: name, keySha256: Buffer.from(hash, 'hex'), roles: roleList, services: serviceList });
  }
  if (keys.length === 0) return fail('configure at least one key');
  return keys;
});

export const apiKeysConfigSchema = z.object({ FEDGATE_API_KEYS: ApiKeysSchema });

/**
 * How access tokens are verified: token-service, and authz-service for the calls a person
 * makes with their own token (`POST /v1/authorize`, membership), with the same rules.
 */
export const tokenVerificationConfigSchema = oidcConfigSchema.extend({
  /** The `aud` every access token must carry. */
  FEDGATE_OIDC_AUDIENCE: z.string().min(1),
  /**
   * RFC 7662 introspection of opaque tokens, only as a confidential client: with both the id and
   * its secret. The id alone (the login-service's public client) leaves introspection off, since
   * IdPs refuse public clients there and every malformed token would then cost an IdP call.
   */
  FEDGATE_OIDC_CLIENT_ID: z.string().min(1).optional(),
  FEDGATE_OIDC_CLIENT_SECRET: z.string().min(1).optional(),
  FEDGATE_OIDC_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5000),
  FEDGATE_TOKEN_CLOCK_SKEW_SECONDS: z.coerce.number().int().min(0).max(300).default(30),
  FEDGATE_TOKEN_CACHE_ENTRIES: z.coerce.number().int().min(1).default(100_000),
  /** Least time between two JWKS fetches for unknown kids. */
  FEDGATE_JWKS_COOLDOWN_MS: z.coerce.number().int().min(0).default(30_000),
  /** How long a revoked token must be refused when its own expiry is unknown. */
  FEDGATE_TOKEN_MAX_LIFETIME_SECONDS: z.coerce.number().int().min(60).default(86_400),
  /** Pause between reads of the durable revoked-session list: how late a revocation can arrive while Kafka is down. */
  FEDGATE_REVOCATION_REFRESH_MS: z.coerce.number().int().min(50).max(2000).default(500),
});
export type TokenVerificationConfig = z.infer<typeof tokenVerificationConfigSchema>;

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
    /**
     * The `aud` the token-service requires. When set, a login whose JWT access token lacks it is
     * refused at once (the IdP's client needs an audience mapper) instead of every later verify failing.
     */
    FEDGATE_OIDC_AUDIENCE: z.string().min(1).optional(),
    /** JSON object of extra device-authorization parameters some IdPs need, e.g. {"audience":"..."}. */
    FEDGATE_OIDC_EXTRA_PARAMS: z
      .string()
      .transform((text, context) => {
        try {
          return JSON.parse(text) as unknown;
        } catch {
          context.addIssue({ code: 'custom', message: 'must be a JSON object, e.g. {"audience":"..."}' });
          return z.NEVER;
        }
      })
      .pipe(z.record(z.string(), z.string(), { error: 'must be a JSON object of string values' }))
      .optional(),
    FEDGATE_OIDC_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5000),
    /** How often device logins that expired unpolled are closed (with their final audit event). */
    FEDGATE_LOGIN_SWEEP_MS: z.coerce.number().int().min(1000).default(30_000),
    /** How long a revoked session is refused: the longest an access token of the IdP can live. */
    FEDGATE_TOKEN_MAX_LIFETIME_SECONDS: z.coerce.number().int().min(60).default(86_400),
    /**
     * Most access tokens one session may hold unexpired: a refresh beyond it is refused
     * (invalid_grant) until one expires, so a session and its revocation event stay bounded.
     */
    FEDGATE_SESSION_MAX_TOKENS: z.coerce.number().int().min(2).max(1000).default(100),
    /**
     * Rate limit of the unauthenticated login calls (device authorization, token polling,
     * refresh): calls of one operation per window, per client and source address; beyond, 429
     * too_many_requests with Retry-After. A SuperLink fronts all its users from one address:
     * size it for the logins of all of them.
     */
    FEDGATE_LOGIN_RATE_LIMIT: z.coerce.number().int().min(1).default(300),
    FEDGATE_LOGIN_RATE_WINDOW_MS: z.coerce.number().int().min(1000).max(3_600_000).default(60_000),
  });
export type LoginServiceConfig = z.infer<typeof loginServiceConfigSchema>;

const booleanSetting = (fallback: 'true' | 'false') => z.enum(['true', 'false']).default(fallback).transform((v) => v === 'true');

export const tokenServiceConfigSchema = serviceConfigSchema
  .extend(databaseConfigSchema.shape)
  .extend(kafkaConfigSchema.shape)
  .extend(tokenVerificationConfigSchema.shape)
  .extend(apiKeysConfigSchema.shape)
  .extend({
    /** Record successful verifications in the audit log too (rejections always are). */
    FEDGATE_TOKEN_AUDIT_SUCCESS: booleanSetting('true'),
  });
export type TokenServiceConfig = z.infer<typeof tokenServiceConfigSchema>;

export const authzServiceConfigSchema = serviceConfigSchema
  .extend(databaseConfigSchema.shape)
  .extend(kafkaConfigSchema.shape)
  .extend(openfgaConfigSchema.shape)
  .extend(tokenVerificationConfigSchema.shape)
  .extend(apiKeysConfigSchema.shape)
  .extend({
    /** The stack's SuperLink `service:<name>`, whose bootstrap admin is FEDGATE_ADMIN_FLWR_AID. */
    FEDGATE_SERVICE_NAME: z.string().min(1).max(200),
    /** Made admin of FEDGATE_SERVICE_NAME once, at first start (a system grant event). */
    FEDGATE_ADMIN_FLWR_AID: z.string().min(1).max(200).optional(),
    /**
     * The bootstrap admin by username or (verified) email instead, for IdPs whose account ids are
     * opaque (Keycloak's `sub` is a UUID): the first account that logs in under it becomes admin.
     */
    FEDGATE_ADMIN_LOGIN: z.string().min(1).max(320).optional(),
    /** The OpenFGA store found (or created) by name at start; the model is written there and pinned. */
    FEDGATE_OPENFGA_STORE_NAME: z.string().min(1).default('fedgate'),
    /** Deadline of one OpenFGA request; past it the decision is a 503 authz_unavailable. */
    FEDGATE_OPENFGA_TIMEOUT_MS: z.coerce.number().int().min(50).max(30_000).default(2000),
    // checks beyond this many concurrent OpenFGA requests are coalesced into BatchCheck requests
    FEDGATE_OPENFGA_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(256).default(2),
    FEDGATE_AUTHZ_CACHE_ENTRIES: z.coerce.number().int().min(1).default(100_000),
    /** Longest a cached decision is served (ownership and grant events empty the cache before that). */
    FEDGATE_AUTHZ_CACHE_TTL_MS: z.coerce.number().int().min(1).max(600_000).default(5000),
    /** Longest a check carrying a consistency_token waits for its write (then 503 consistency_timeout). */
    FEDGATE_AUTHZ_CONSISTENCY_WAIT_MS: z.coerce.number().int().min(100).max(60_000).default(5000),
  });
export type AuthzServiceConfig = z.infer<typeof authzServiceConfigSchema>;

export const auditServiceConfigSchema = serviceConfigSchema
  .extend(databaseConfigSchema.shape)
  .extend(kafkaConfigSchema.shape)
  .extend(apiKeysConfigSchema.shape)
  .extend({
    /** Ed25519 private key (PKCS#8 PEM) that signs checkpoints; created (mode 0600) at first start. */
    FEDGATE_AUDIT_SIGNING_KEY_FILE: z.string().min(1),
    /** Kafka consumer group: instances of one audit log share it; a separate log needs its own. */
    FEDGATE_AUDIT_CONSUMER_GROUP: z.string().min(1).default('audit-service'),
    /**
     * Where a consumer group without committed offsets starts: `beginning` (every event ever
     * published: the audit log's normal setting) or `end` (only events from now on: a scratch log).
     */
    FEDGATE_AUDIT_CONSUMER_START: z.enum(['beginning', 'end']).default('beginning'),
    /**
     * Comma-separated topics to record; unset = every Fedgate topic (the audit log's normal setting).
     * Any topic name is accepted (a benchmark's scratch topic): its messages must still be catalogued events.
     */
    FEDGATE_AUDIT_TOPICS: z
      .string()
      .regex(/^[A-Za-z0-9._-]+(,[A-Za-z0-9._-]+)*$/, 'must be comma-separated Kafka topic names')
      .optional()
      .transform((list): readonly string[] => list?.split(',') ?? TOPIC_NAMES),
    /**
     * Kafka consumer session timeout: after an unclean death of an instance, its successor
     * gets the partitions (and the log catches up) once this has passed since the dead
     * one's last heartbeat. At least the broker's group.min.session.timeout.ms (6 s by default).
     */
    FEDGATE_AUDIT_SESSION_TIMEOUT_MS: z.coerce.number().int().min(1000).max(300_000).default(6000),
    /** A checkpoint is signed this often while the chain grows... */
    FEDGATE_AUDIT_CHECKPOINT_INTERVAL_MS: z.coerce.number().int().min(100).default(10_000),
    /** ...and as soon as this many events arrived since the last one. */
    FEDGATE_AUDIT_CHECKPOINT_EVENTS: z.coerce.number().int().min(1).default(10_000),
    /**
     * Pause between background re-verifications of the whole chain (an edit of an old row is
     * found within this plus one run); GET /v1/integrity answers that verdict plus the rows appended since.
     */
    FEDGATE_AUDIT_VERIFY_INTERVAL_MS: z.coerce.number().int().min(100).default(300_000),
    /**
     * Rows per second a background re-verification reads at most. A run costs CPU linear in
     * the log (about 50–130 µs per row here), so unpaced it would take a core for minutes each
     * interval; at 2,000 rows/s it takes about a tenth to a quarter of one, and a run over 1 M rows about 8 min.
     */
    FEDGATE_AUDIT_VERIFY_ROWS_PER_SECOND: z.coerce.number().int().min(1).default(2_000),
  });
export type AuditServiceConfig = z.infer<typeof auditServiceConfigSchema>;

export const SERVICE_CONFIG_SCHEMAS = {
  'login-service': loginServiceConfigSchema,
  'token-service': tokenServiceConfigSchema,
  'authz-service': authzServiceConfigSchema,
  'audit-service': auditServiceConfigSchema,
} as const;
