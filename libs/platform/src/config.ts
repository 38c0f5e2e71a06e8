import { z } from 'zod';

/** Settings every Fedgate HTTP service has. */
export const serviceConfigSchema = z.object({
  FEDGATE_HOST: z.string().default('127.0.0.1'),
  FEDGATE_PORT: z.coerce.number().int().min(1).max(65535),
  FEDGATE_TLS_CERT: z.string().min(1),
  FEDGATE_TLS_KEY: z.string().min(1),
  FEDGATE_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Worker processes sharing the port (node:cluster); 1 = the service runs in this process. */
  FEDGATE_WORKERS: z.coerce.number().int().min(1).max(64).default(1),
  /**
   * Requests one process works on at once; past it, 503 `overloaded` with Retry-After before any
   * work, so a flood is refused fast instead of every answer waiting behind the backlog.
   */
  FEDGATE_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(100_000).default(256),
});
export type ServiceConfig = z.infer<typeof serviceConfigSchema>;

export class ConfigError extends Error {
  readonly code = 'invalid_configuration';
}

/**
 * Validates environment variables against a schema; a bad setting stops the service at
 * start with every problem named, instead of failing later on first use.
 */
export function loadConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  // an empty setting counts as unset (compose writes `NAME: ${OPTIONAL:-}` as NAME=""): its default applies
  const parsed = schema.safeParse(Object.fromEntries(Object.entries(env).filter(([, value]) => value !== '')));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  return parsed.data;
}

/** Settings fragments for the dependencies a service may have; apps merge what they use. */
export const databaseConfigSchema = z.object({ FEDGATE_DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgresql:// URL') });
/** Kafka: every client authenticates (SASL/SCRAM) as the service's own principal; its ACLs say what it may do. */
export const kafkaConfigSchema = z.object({
  /** Comma-separated host:port list; parsed here, once. */
  FEDGATE_KAFKA_BROKERS: z
    .string()
    .transform((list) => list.split(',').map((b) => b.trim()).filter(Boolean))
    .pipe(z.array(z.string()).min(1, 'name at least one broker host:port')),
  FEDGATE_KAFKA_USERNAME: z.string().min(1),
  FEDGATE_KAFKA_PASSWORD: z.string().min(1),
  // the only mechanism the broker enables (infra/kafka/server.properties)
  FEDGATE_KAFKA_SASL_MECHANISM: z.literal('scram-sha-512').default('scram-sha-512'),
});
export type KafkaConfig = z.infer<typeof kafkaConfigSchema>;
export const oidcConfigSchema = z.object({
  /** Only https: the IdP's keys and tokens must come over TLS (a private CA goes in FEDGATE_OIDC_CA_FILE). */
  FEDGATE_OIDC_ISSUER: z.url({
    protocol: /^https$/,
    error: (issue) =>
      typeof issue.input === 'string' && issue.input.startsWith('http://')
        ? 'must be an https:// URL: Fedgate talks to the identity provider over TLS only (for a private CA, set FEDGATE_OIDC_CA_FILE)'
        : 'must be the https:// URL of the identity provider (its issuer)',
  }),
  /** PEM file of the CA that signed the IdP's TLS certificate, trusted beside the public roots and NODE_EXTRA_CA_CERTS. */
  FEDGATE_OIDC_CA_FILE: z.string().min(1).optional(),
});
export const openfgaConfigSchema = z.object({ FEDGATE_OPENFGA_URL: z.string().url(), FEDGATE_OPENFGA_API_KEY: z.string().min(1) });
