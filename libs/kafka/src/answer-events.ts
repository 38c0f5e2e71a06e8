import { Logger, type OnModuleDestroy } from '@nestjs/common';
import type { FedgateEvent } from '@fedgate/contracts';
import type { OutboxStore } from '@fedgate/database';
import { permanentRefusalOf, type CloudEventPublisher } from './cloud-event.publisher';

/**
 * Where an answer's audit event (a verification, a decision, a refusal) is made durable before
 * the answer goes out. Such an event describes no other stored state, so it needs no database
 * transaction: `kafka` sends it straight to the brokers (acks=all, idempotent) and falls back
 * to the outbox when they fail; `outbox` always writes PostgreSQL, and the relay publishes later.
 */
export type AnswerEventRoute = 'kafka' | 'outbox';

/** The sink every answer's audit events go to (the group writers of token-verification and authz append to it). */
export const ANSWER_EVENTS = Symbol('ANSWER_EVENTS');

export interface AnswerEvents {
  /** Resolves once every event is durable: acknowledged by Kafka, or committed to the outbox. */
  appendNow(events: readonly FedgateEvent[]): Promise<void>;
}

export interface KafkaFirstOptions {
  /** Longest wait for Kafka's acknowledgement before the same events go to the outbox instead. */
  timeoutMs: number;
  /** After Kafka failed, answers' events go to the outbox for this long before Kafka is tried again. */
  retryAfterMs: number;
  /** Told how many events went which way (a metric). */
  onDurable?: (route: AnswerEventRoute, count: number) => void;
}

/**
 * Kafka first, the outbox as the fallback. One produce request per group of answers
 * (OutboxGroupWriter groups them) replaces the outbox INSERT, the relay's SELECT and UPDATE
 * and its produce: what bench/authorize measures as the audit pipeline's cost per answer.
 * Kafka down or slow (past `timeoutMs`) never stops answers: the events go to the outbox and
 * the relay publishes them once Kafka is back; for `retryAfterMs` after a failure the outbox
 * is used directly, so an outage costs one timeout, not one per answer. A send that timed out
 * but still lands makes a duplicate, which the audit log drops by event id.
 * Durability: acks=all, so the event is on every in-sync replica before the answer (on a
 * single dev broker, in its log file; a deployment runs three with min.insync.replicas=2).
 */
export class KafkaFirstAnswerEvents implements AnswerEvents, OnModuleDestroy {
  private readonly logger = new Logger('AnswerEvents');
  private outboxUntil = 0;

  constructor(
    private readonly publisher: Pick<CloudEventPublisher, 'publishAll' | 'onModuleDestroy'>,
    private readonly outbox: Pick<OutboxStore, 'appendNow'>,
    private readonly options: KafkaFirstOptions,
  ) {}

  async appendNow(events: readonly FedgateEvent[]): Promise<void> {
    if (Date.now() >= this.outboxUntil) {
      try {
        await withDeadline(this.publisher.publishAll(events), this.options.timeoutMs);
        this.options.onDurable?.('kafka', events.length);
        return;
      } catch (err) {
        // a refused record (too large) is the outbox's to dead-letter; anything else is Kafka unwell
        if (permanentRefusalOf(err) === undefined) {
          if (this.outboxUntil === 0 || Date.now() >= this.outboxUntil) this.logger.warn({ reason: (err as Error).message, retry_after_ms: this.options.retryAfterMs }, 'Kafka did not take answer events; writing them to the outbox');
          this.outboxUntil = Date.now() + this.options.retryAfterMs;
        }
      }
    }
    await this.outbox.appendNow(events);
    this.options.onDurable?.('outbox', events.length);
  }

  async onModuleDestroy(): Promise<void> {
    await this.publisher.onModuleDestroy();
  }
}

/** The outbox only (FEDGATE_ANSWER_EVENTS=outbox). */
export class OutboxAnswerEvents implements AnswerEvents {
  constructor(
    private readonly outbox: Pick<OutboxStore, 'appendNow'>,
    private readonly onDurable?: (route: AnswerEventRoute, count: number) => void,
  ) {}

  async appendNow(events: readonly FedgateEvent[]): Promise<void> {
    await this.outbox.appendNow(events);
    this.onDurable?.('outbox', events.length);
  }
}

class DeadlineError extends Error {}

/** `work`, or a rejection after `ms`; a late settlement of `work` is swallowed (never unhandled). */
function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(`no acknowledgement within ${ms} ms`)), ms);
  });
  work.catch(() => undefined);
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
