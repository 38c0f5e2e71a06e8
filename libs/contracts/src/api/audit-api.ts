import { z } from 'zod';
import { FlwrAidSchema } from '../accounts';
import { DecisionIdSchema } from '../authorization';
import { AuditOutcomeSchema } from '../events';
import { sha256Hex } from '../tokens';

/** audit-service DTOs (API.md § audit-service). */

export const AUDIT_QUERY_MAX_LIMIT = 1000;
export const AUDIT_QUERY_DEFAULT_LIMIT = 100;

const noWhitespace = /^[^\s\p{Cc}]+$/u;
const timestamp = z.iso.datetime({ offset: true });

/** Query-string filters shared by the list and the export; values arrive as strings. */
const AuditFilterShape = {
  actor: FlwrAidSchema.optional(),
  /** An event type, e.g. `fedgate.authz.decision.v1`. */
  type: z
    .string()
    .max(256)
    .regex(/^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$/, 'must be an event type such as fedgate.authz.decision.v1')
    .optional(),
  outcome: AuditOutcomeSchema.optional(),
  /** An object reference as recorded, e.g. `run:42`. */
  object: z.string().min(1).max(512).regex(noWhitespace, 'must not contain whitespace').optional(),
  /** Inclusive lower bound on event time (RFC 3339). */
  since: timestamp.optional(),
  /** Exclusive upper bound on event time (RFC 3339). */
  until: timestamp.optional(),
};

const sinceBeforeUntil = (filters: { since?: string | undefined; until?: string | undefined }): boolean =>
  filters.since === undefined || filters.until === undefined || Date.parse(filters.since) <= Date.parse(filters.until);
const sinceBeforeUntilMessage = { message: 'since must not be after until', path: ['since'] };

/** `GET /v1/events?actor=&type=&outcome=&object=&since=&until=&limit=&cursor=` */
export const AuditEventQuerySchema = z
  .object({
    ...AuditFilterShape,
    limit: z.coerce.number().int().min(1).max(AUDIT_QUERY_MAX_LIMIT).default(AUDIT_QUERY_DEFAULT_LIMIT),
    /** Opaque, from a previous answer's `next_cursor`. */
    cursor: z.string().min(1).max(512).regex(noWhitespace, 'must not contain whitespace').optional(),
  })
  .refine(sinceBeforeUntil, sinceBeforeUntilMessage);
export type AuditEventQuery = z.infer<typeof AuditEventQuerySchema>;

/** `GET /v1/events/export?format=ndjson` (+ the same filters) — streamed NDJSON, oldest first. */
export const AuditExportQuerySchema = z
  .object({
    ...AuditFilterShape,
    format: z.literal('ndjson').default('ndjson'),
  })
  .refine(sinceBeforeUntil, sinceBeforeUntilMessage);
export type AuditExportQuery = z.infer<typeof AuditExportQuerySchema>;

/** `GET /v1/events/{id}` — the event id (the CloudEvent id). */
export const AuditEventParamsSchema = z.object({
  id: z.string().min(1).max(256).regex(noWhitespace, 'must not contain whitespace'),
});

const Sha256HexSchema = z.string().regex(/^[0-9a-f]{64}$/, 'must be a lower-case hex SHA-256 digest');

/** prev_hash of the first record of the chain. */
export const AUDIT_GENESIS_HASH = '0'.repeat(64);

/** One audit record: the event plus its place in the hash chain. */
export const AuditEventSchema = z.object({
  id: z.string().min(1),
  /** Position in the chain, from 1, gap-free. */
  seq: z.number().int().positive(),
  time: timestamp,
  type: z.string().min(1),
  actor: z.object({ flwr_aid: FlwrAidSchema, account_name: z.string() }).nullable(),
  object: z.string().nullable(),
  action: z.string().min(1),
  outcome: AuditOutcomeSchema,
  decision_id: DecisionIdSchema.optional(),
  source: z.string().min(1),
  data: z.record(z.string(), z.unknown()),
  hash: Sha256HexSchema,
  prev_hash: Sha256HexSchema,
});
export type AuditEvent = z.infer<typeof AuditEventSchema>;

export const AuditEventListResponseSchema = z.object({
  events: z.array(AuditEventSchema),
  next_cursor: z.string().nullable(),
});
export type AuditEventListResponse = z.infer<typeof AuditEventListResponseSchema>;

/** `GET /v1/integrity` */
export const IntegrityResponseSchema = z.object({
  ok: z.boolean(),
  checked: z.number().int().nonnegative(),
  head: z.object({ seq: z.number().int().positive(), hash: Sha256HexSchema }).nullable(),
  first_bad_seq: z.number().int().positive().optional(),
});
export type IntegrityResponse = z.infer<typeof IntegrityResponseSchema>;

/**
 * JSON with object keys sorted at every level and no whitespace, so the same
 * value hashes the same after a database round trip that reorders keys.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) sorted[key] = sortKeys((value as Record<string, unknown>)[key]);
    return sorted;
  }
  return value;
}

/**
 * The chain hash of a record: sha256Hex(prev_hash + "\n" + canonicalJson(record
 * without hash and prev_hash)). The audit service computes it on insert; the
 * integrity endpoint and `fedgate audit verify` recompute it. `time` is hashed
 * as the exact string served, so the service must store it verbatim.
 */
export function auditEventHash(record: Omit<AuditEvent, 'hash'>): string {
  const { prev_hash, ...content } = record;
  return sha256Hex(`${prev_hash}\n${canonicalJson(content)}`);
}
