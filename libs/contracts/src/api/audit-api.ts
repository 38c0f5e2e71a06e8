import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { z } from 'zod';
import { AuditActorIdSchema } from '../principals';
import { DecisionIdSchema } from '../authorization';
import { AuditOutcomeSchema } from '../events';

/** audit-service DTOs (API.md § audit-service). */

export const AUDIT_QUERY_MAX_LIMIT = 1000;
export const AUDIT_QUERY_DEFAULT_LIMIT = 100;

const noWhitespace = /^[^\s\p{Cc}]+$/u;
const timestamp = z.iso.datetime({ offset: true });

/** Query-string filters shared by the list and the export; values arrive as strings. */
const AuditFilterShape = {
  /** An account id, or `key:<name>` for a service key. */
  actor: AuditActorIdSchema.optional(),
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
    /**
     * Follow mode (viewer live updates, `fedgate audit tail`): only events with a larger seq,
     * OLDEST first, so a follower that asks again with the last seq it saw misses nothing.
     */
    after_seq: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  })
  .refine(sinceBeforeUntil, sinceBeforeUntilMessage)
  .refine((q) => q.after_seq === undefined || q.cursor === undefined, { message: 'after_seq and cursor cannot be combined', path: ['after_seq'] });
export type AuditEventQuery = z.infer<typeof AuditEventQuerySchema>;

/** `GET /v1/events/export?format=ndjson` (+ the same filters) — streamed NDJSON, oldest first. */
export const AuditExportQuerySchema = z
  .object({
    ...AuditFilterShape,
    format: z.literal('ndjson').default('ndjson'),
  })
  .refine(sinceBeforeUntil, sinceBeforeUntilMessage);
export type AuditExportQuery = z.infer<typeof AuditExportQuerySchema>;

/** `GET /v1/integrity?full=true`: a fresh full verification instead of the latest one plus the rows since. */
export const IntegrityQuerySchema = z.object({
  full: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
});

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
  /** account_name is null when the event names the account only by its id. */
  actor: z.object({ flwr_aid: AuditActorIdSchema, account_name: z.string().nullable() }).nullable(),
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

/** Why a chain check failed, at `first_bad_seq`. */
export const INTEGRITY_PROBLEMS = [
  /** A seq is missing (a row was deleted, or the tail after a checkpoint was cut off). */
  'missing_seq',
  /** The row's prev_hash is not the previous row's hash (rows reordered or replaced). */
  'prev_hash_mismatch',
  /** The row's content does not hash to its stored hash (edited, or moved to another seq). */
  'hash_mismatch',
  /** A signed checkpoint's head hash differs from the chain at its seq (chain rewritten). */
  'checkpoint_mismatch',
  /** A checkpoint's signature or key is not the audit service's. */
  'checkpoint_signature_invalid',
  /**
   * The log ends before a checkpoint signed earlier: its tail was cut off. truncated_at names the
   * first missing seq; first_bad_seq the first one no longer proven (after the last checkpoint still matched).
   */
  'truncated',
  /** A checkpoint kept outside the database is gone from it, or differs there (checkpoints deleted or rewritten). */
  'checkpoint_missing',
] as const;
export const IntegrityProblemSchema = z.enum(INTEGRITY_PROBLEMS);
export type IntegrityProblem = z.infer<typeof IntegrityProblemSchema>;

/** `GET /v1/integrity` */
export const IntegrityResponseSchema = z.object({
  ok: z.boolean(),
  /** Rows whose seq, prev_hash and hash were recomputed and found right. */
  checked: z.number().int().nonnegative(),
  head: z.object({ seq: z.number().int().positive(), hash: Sha256HexSchema }).nullable(),
  first_bad_seq: z.number().int().positive().optional(),
  problem: IntegrityProblemSchema.optional(),
  /** For `truncated`: the first seq missing at the end of the log (= first_bad_seq). */
  truncated_at: z.number().int().positive().optional(),
  /**
   * Checkpoints trusted from outside the database (the service's checkpoint file and topic, or
   * those a verifier holds): the log must extend the latest. Absent or 0: only internal
   * consistency was proven.
   */
  trusted: z.object({ checked: z.number().int().nonnegative(), latest_seq: z.number().int().positive().nullable() }).optional(),
  /** Signed checkpoints verified (signature, key and head hash against the chain). */
  checkpoints: z.object({ checked: z.number().int().nonnegative(), latest: z.object({ seq: z.number().int().positive(), time: timestamp }).nullable() }).optional(),
  /** The Ed25519 key the service signs checkpoints with (SPKI PEM) and its id. */
  public_key: z.string().optional(),
  key_id: z.string().optional(),
  /**
   * Start of the full verification this answer rests on (the service re-verifies every row on
   * an interval and checks rows appended since incrementally; `?full=true` forces a fresh run).
   */
  checked_at: timestamp.optional(),
});
export type IntegrityResponse = z.infer<typeof IntegrityResponseSchema>;

/** A signed statement "the chain had head `head_hash` at `seq`", made by the audit service. */
export const AuditCheckpointSchema = z.object({
  seq: z.number().int().positive(),
  head_hash: Sha256HexSchema,
  time: timestamp,
  /** auditKeyId of the signing key. */
  key_id: z.string().min(1),
  /**
   * auditCheckpointHash of the checkpoint signed before this one (64 × `0` for the first), so the
   * checkpoints form a chain of their own, like CloudTrail's digest files. Absent on checkpoints
   * signed before it existed.
   */
  prev_checkpoint_hash: Sha256HexSchema.optional(),
  /** base64url Ed25519 signature over auditCheckpointMessage(...). */
  signature: z.string().min(1),
});
export type AuditCheckpoint = z.infer<typeof AuditCheckpointSchema>;

/** A head an auditor trusts: a checkpoint they hold, or just `seq:head_hash` written down earlier. */
export type TrustedHead = Pick<AuditCheckpoint, 'seq' | 'head_hash'>;

/** `GET /v1/integrity/checkpoints`: what an outside verifier needs besides the exported events. */
export const AuditCheckpointListResponseSchema = z.object({
  public_key: z.string().min(1),
  key_id: z.string().min(1),
  checkpoints: z.array(AuditCheckpointSchema),
});
export type AuditCheckpointListResponse = z.infer<typeof AuditCheckpointListResponseSchema>;

/**
 * RFC 8785 JSON Canonicalization Scheme (the `canonicalize` package): keys sorted at every
 * level, no whitespace, ECMAScript number form; undefined members are left out. The same
 * value gives the same bytes after a database round trip that reorders keys.
 */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('value has no JSON form');
  return text;
}

/**
 * The chain hash of a record, lower-case hex of
 *
 *     SHA-256( bytes(prev_hash) || UTF-8( JCS(record without hash and prev_hash) ) )
 *
 * where bytes(prev_hash) are the 32 bytes the previous record's hex hash encodes (32 zero
 * bytes before the first record) and the record is exactly what the API serves:
 * {id, seq, time, type, actor, object, action, outcome, decision_id?, source, data}.
 * `seq` is inside the hashed bytes, so a row moved to another position no longer matches.
 */
export function auditEventHash(record: Omit<AuditEvent, 'hash'>): string {
  const { prev_hash, ...content } = record;
  return createHash('sha256').update(Buffer.from(prev_hash, 'hex')).update(canonicalJson(content), 'utf8').digest('hex');
}

/** The id of an Ed25519 checkpoint key: hex SHA-256 of its SPKI DER encoding, first 16 bytes. */
export function auditKeyId(spkiDer: Uint8Array): string {
  return createHash('sha256').update(spkiDer).digest('hex').slice(0, 32);
}

/** The bytes a checkpoint signature covers: UTF-8 JCS of {seq, head_hash, time, key_id, prev_checkpoint_hash?}. */
export function auditCheckpointMessage(checkpoint: Omit<AuditCheckpoint, 'signature'>): Buffer {
  const { seq, head_hash, time, key_id, prev_checkpoint_hash } = checkpoint;
  return Buffer.from(canonicalJson({ seq, head_hash, time, key_id, prev_checkpoint_hash }), 'utf8');
}

/** prev_checkpoint_hash of the first checkpoint of a checkpoint chain. */
export const AUDIT_CHECKPOINT_GENESIS_HASH = AUDIT_GENESIS_HASH;

/** Lower-case hex SHA-256 of JCS(the whole checkpoint, signature included): what the next one names. */
export function auditCheckpointHash(checkpoint: AuditCheckpoint): string {
  const { seq, head_hash, time, key_id, prev_checkpoint_hash, signature } = checkpoint;
  return createHash('sha256').update(canonicalJson({ seq, head_hash, time, key_id, prev_checkpoint_hash, signature }), 'utf8').digest('hex');
}

/** The same signed checkpoint (every field, signature included); false when either is missing. */
export function checkpointsEqual(a: AuditCheckpoint | undefined, b: AuditCheckpoint | undefined): boolean {
  return a !== undefined && b !== undefined && auditCheckpointHash(a) === auditCheckpointHash(b);
}
