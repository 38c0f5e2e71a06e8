import { Prisma } from './generated/prisma/client';
import { EVENT_SOURCED_TOPICS, FedgateEvent, TOPIC_NAMES, TOPICS_READ_BY_SERVICES, createCloudEvent, topicOf, type SerializedCloudEvent } from '@fedgate/contracts';
import type { Pool, PoolClient } from 'pg';
import type { DatabaseTransaction } from './prisma.service';

// Arbitrary constant naming the relay's advisory locks (one per topic: the second key).
const OUTBOX_RELAY_LOCK_CLASS = 736_402_511;

/**
 * An event taken from the outbox, as stored (`json`: the text PostgreSQL's jsonb gives back):
 * the relay publishes it as it is, without parsing it and serializing it again
 * (bench/relay-cost.cjs: 7–9 µs of about 50 of a relay's CPU per event).
 */
export interface OutboxEntry extends SerializedCloudEvent {
  seq: bigint;
  topic: string;
}

/** An event Kafka refused for good: it leaves the outbox for the dead-letter table. */
export interface DeadLetter {
  entry: OutboxEntry;
  reason: string;
  sizeBytes: number;
}

/** Where the dead-letter alerts come from (CloudEvents source). */
export const OUTBOX_EVENT_SOURCE = '/fedgate/outbox-relay';

/** How `OutboxStore.prunePublished` deletes. */
export interface OutboxPruneOptions {
  /** Published rows younger than this are kept. */
  retentionMs: number;
  /** Rows examined per DELETE; each batch is one short statement of its own. */
  batchSize: number;
  /** Checked between batches: an aborted prune stops after the batch in flight. */
  signal?: AbortSignal;
}

/** How `OutboxStore.relayBatch` takes a batch. */
export interface RelayBatchOptions {
  /** Most events taken. */
  limit: number;
  /** The topics this relay publishes (all by default). */
  topics?: readonly string[];
  /**
   * With > 0, the audit-only topics (no service reads them: not TOPICS_READ_BY_SERVICES) are
   * taken only once the oldest event waiting in them is this old; until then only the others are.
   */
  gatherMs?: number;
  /**
   * Longest the batch's transaction may sit idle between two statements, i.e. during one send
   * (PostgreSQL's idle_in_transaction_session_timeout, for this transaction only; 0: the server's).
   * A relay frozen mid-batch (a stopped process, a paused VM, a lost network) then loses its
   * session, and with it its topics' locks, after this; the next relay takes the topics. Without
   * it they stay locked until TCP gives up on the connection, hours later, and a revocation or an
   * ownership change waits that long. A live relay calls `alive` between sends (a round trip once
   * a tenth of this has passed), so only a single send of nearly this long ends its batch (which is
   * then taken again: at-least-once, as on a crash).
   */
  stallTimeoutMs?: number;
}

/**
 * The transactional outbox table. `append` takes the caller's transaction so an event is
 * stored if and only if the state change it describes is committed. The hot paths
 * (appending events that describe no other state, relaying) use plain SQL on a pg pool:
 * one statement per batch, without the ORM's per-query work.
 */
export class OutboxStore {
  /**
   * Where the last prune stopped, in (published_at, seq) order; the next prune resumes there so it
   * never walks again over the kept event-sourced rows (which only grow). Sound because a row is
   * marked published moments before its commit (statement_timestamp), so it cannot appear behind
   * a cutoff already passed; were it to, it would only be kept until a restart, never deleted
   * early. Kept as text so PostgreSQL's microseconds survive the round trip.
   */
  private pruneCursor = { publishedAt: '-infinity', seq: '0' };

  constructor(private readonly pool: Pool) {}

  async append(tx: DatabaseTransaction, events: readonly FedgateEvent[]): Promise<void> {
    if (events.length === 0) return;
    await tx.outboxEvent.createMany({
      data: events.map((event) => ({
        id: event.id,
        topic: topicOf(event.type),
        key: event.subject,
        event: event as unknown as Prisma.InputJsonValue,
      })),
    });
  }

  /** Appends outside any business transaction (an event that describes no stored state). */
  async appendNow(events: readonly FedgateEvent[]): Promise<void> {
    await insertEvents(this.pool, events);
  }

  /**
   * Takes the oldest unpublished events of `topics` (in write order), hands them to `publish`,
   * and marks them published, all in one transaction holding a transaction-scoped advisory
   * lock per topic: one relay publishes a topic at a time, so its order is kept across relay
   * instances (each service relays the topics it may write). A topic whose lock another relay
   * holds is skipped this time; the others are taken. If `publish` throws, nothing is
   * marked and the same events are taken again next time.
   * The events `publish` answers as dead letters (refused by Kafka for good) move, in the same
   * transaction, to `outbox_dead_letter`, each with a `fedgate.outbox.dead_lettered.v1` alert
   * appended to the outbox: one bad event never holds up the others.
   * `publish` calls `alive` between its sends: the transaction may sit idle only `stallTimeoutMs`
   * at a time (see RelayBatchOptions).
   * Answers how many were taken (0 also when other relays hold every topic's lock).
   */
  async relayBatch(publish: (entries: OutboxEntry[], alive: () => Promise<void>) => Promise<DeadLetter[] | void>, options: RelayBatchOptions): Promise<number> {
    const { limit, topics = TOPIC_NAMES, gatherMs = 0, stallTimeoutMs = 0 } = options;
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      // for this transaction only (is_local): 0 leaves the server's setting
      if (stallTimeoutMs > 0) await client.query({ name: 'fedgate-outbox-relay-stall-timeout', text: "SELECT set_config('idle_in_transaction_session_timeout', $1, true)", values: [String(stallTimeoutMs)] });
      // Each topic's lock on its own: a topic another relay is publishing is left to it, and this
      // relay publishes the rest now (an ownership event must not wait for the next poll because
      // another service's relay holds the decisions topic).
      const { rows: held } = await client.query<{ topic: string }>(
        'SELECT t AS topic FROM unnest($2::text[]) AS t WHERE pg_try_advisory_xact_lock($1::int, hashtext(t))',
        [OUTBOX_RELAY_LOCK_CLASS, [...new Set(topics)].sort()],
      );
      // The audit-only topics (those no service reads) are taken once their oldest waiting event is
      // gatherMs old, whichever relay looks: their events then leave in one batch per gatherMs, not
      // one per poll of each relay taking turns. Topics services read are taken at every poll.
      // Oldest by the (published_at, seq) index's order: one probe, no sort.
      const rows = held.length > 0
        ? (await client.query<{ id: string; seq: string; topic: string; key: string; type: string; json: string }>({
            name: 'fedgate-outbox-relay-take-gathered',
            text: `SELECT id, seq, topic, key, event->>'type' AS type, event::text AS json FROM outbox_event
              WHERE published_at IS NULL AND topic = ANY($2::text[])
                AND ($4::float8 <= 0 OR topic = ANY($3::text[]) OR (
                  SELECT o.created_at FROM outbox_event o WHERE o.published_at IS NULL AND o.topic = ANY($2::text[]) AND o.topic <> ALL($3::text[])
                  ORDER BY o.published_at, o.seq LIMIT 1) <= statement_timestamp() - $4::float8 * interval '1 millisecond')
              ORDER BY seq LIMIT $1`,
            values: [limit, held.map((h) => h.topic), TOPICS_READ_BY_SERVICES, gatherMs],
          })).rows
        : [];
      if (rows.length > 0) {
        // a round trip only once a tenth of the timeout has passed since the last statement: a
        // healthy batch's sends take milliseconds and pay none, a slow one is never idle past the timeout
        let lastStatement = performance.now();
        const alive = async () => {
          if (stallTimeoutMs <= 0 || performance.now() - lastStatement < stallTimeoutMs / 10) return;
          await client.query({ name: 'fedgate-outbox-relay-alive', text: 'SELECT 1' });
          lastStatement = performance.now();
        };
        const dead = (await publish(rows.map((r) => ({ id: r.id, seq: BigInt(r.seq), topic: r.topic, key: r.key, type: r.type, json: r.json })), alive)) ?? [];
        if (dead.length > 0) await this.moveToDeadLetters(client, dead);
        // statement_timestamp, not now(): the transaction began before the Kafka send (see pruneCursor)
        await client.query({ name: 'fedgate-outbox-relay-mark', text: 'UPDATE outbox_event SET published_at = statement_timestamp() WHERE id = ANY($1::uuid[])', values: [rows.map((r) => r.id)] });
      }
      await client.query('COMMIT');
      return rows.length;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  private async moveToDeadLetters(client: PoolClient, dead: readonly DeadLetter[]): Promise<void> {
    const ids = dead.map((d) => d.entry.id);
    await client.query(
      `INSERT INTO outbox_dead_letter (id, seq, topic, key, event, size_bytes, reason, created_at)
       SELECT o.id, o.seq, o.topic, o.key, o.event, d.size_bytes, d.reason, o.created_at
       FROM outbox_event o JOIN unnest($1::uuid[], $2::int[], $3::text[]) AS d(id, size_bytes, reason) ON d.id = o.id
       ON CONFLICT (id) DO NOTHING`,
      [ids, dead.map((d) => d.sizeBytes), dead.map((d) => d.reason.slice(0, 500))],
    );
    await client.query('DELETE FROM outbox_event WHERE id = ANY($1::uuid[])', [ids]);
    const alerts = dead.map((d) =>
      createCloudEvent({
        type: 'fedgate.outbox.dead_lettered.v1',
        source: OUTBOX_EVENT_SOURCE,
        data: { event_id: d.entry.id, event_type: d.entry.type, topic: d.entry.topic, size_bytes: d.sizeBytes, reason: d.reason.slice(0, 500) },
      }),
    );
    await insertEvents(client, alerts);
  }

  /**
   * Deletes the events published more than `retentionMs` ago: once in Kafka the outbox row has
   * done its work (at 1,000 requests/s the table would otherwise gain 86 M rows a day). Never deletes an
   * unpublished row, nor one of an event-sourced topic (consistency tokens name ownership
   * events by their outbox id, so those stay). Works in batches of `batchSize` rows along the
   * (published_at, seq) index, each batch one statement, until none is left. Relays pruning at
   * the same time share the work: each skips the rows another is deleting (SKIP LOCKED, so
   * they neither wait nor deadlock), and a row deleted twice is deleted once.
   * Answers how many rows it deleted.
   */
  async prunePublished(options: OutboxPruneOptions): Promise<number> {
    if (!(options.retentionMs >= 0) || !Number.isSafeInteger(options.batchSize) || options.batchSize < 1) {
      throw new RangeError('prunePublished needs retentionMs >= 0 and a positive integer batchSize');
    }
    let deleted = 0;
    while (!options.signal?.aborted) {
      const { rows: [batch] } = await this.pool.query<{ scanned: number; deleted: number; last_published_at: string | null; last_seq: string | null }>(
        `WITH batch AS (
           SELECT id, topic, published_at, seq FROM outbox_event
           WHERE published_at < now() - $1::float8 * interval '1 millisecond'
             AND (published_at, seq) > ($2::timestamptz, $3::bigint)
           ORDER BY published_at, seq
           LIMIT $4
           FOR UPDATE SKIP LOCKED
         ), removed AS (
           DELETE FROM outbox_event o USING batch b
           WHERE o.id = b.id AND b.topic <> ALL($5::text[])
           RETURNING 1
         )
         SELECT (SELECT count(*) FROM batch)::int AS scanned,
                (SELECT count(*) FROM removed)::int AS deleted,
                last.published_at::text AS last_published_at,
                last.seq::text AS last_seq
         FROM (SELECT 1) one
         LEFT JOIN (SELECT published_at, seq FROM batch ORDER BY published_at DESC, seq DESC LIMIT 1) last ON true`,
        [options.retentionMs, this.pruneCursor.publishedAt, this.pruneCursor.seq, options.batchSize, EVENT_SOURCED_TOPICS],
      );
      deleted += batch.deleted;
      if (batch.last_published_at !== null && batch.last_seq !== null) this.pruneCursor = { publishedAt: batch.last_published_at, seq: batch.last_seq };
      if (batch.scanned < options.batchSize) break;
    }
    return deleted;
  }
}

/** One INSERT for many events, outside the ORM (the hot path). */
async function insertEvents(db: Pick<Pool, 'query'>, events: readonly FedgateEvent[]): Promise<void> {
  if (events.length === 0) return;
  // a named statement: parsed and planned once per connection, not per INSERT. Under a trickle a
  // group is one or a few events, and the unnamed statement's parse + plan was about half of
  // the INSERT's CPU (bench/outbox-cost.cjs: 300–420 µs per event alone, 170–195 µs prepared).
  // The events go as one JSON array, zipped with the other columns by ROWS FROM: as a jsonb[]
  // parameter, pg escaped every quote of every event into an array literal and PostgreSQL
  // unescaped it again (bench/outbox-cost.cjs --only-parameter: 36–39 µs per event at groups of 16, 28–35 this way).
  await db.query({
    name: 'fedgate-outbox-insert',
    text: `INSERT INTO outbox_event (id, topic, key, event)
     SELECT * FROM ROWS FROM (unnest($1::uuid[]), unnest($2::text[]), unnest($3::text[]), jsonb_array_elements($4::jsonb))`,
    values: [events.map((e) => e.id), events.map((e) => topicOf(e.type)), events.map((e) => e.subject), JSON.stringify(events)],
  });
}
