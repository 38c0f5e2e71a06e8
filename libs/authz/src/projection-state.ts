import type { Pool } from 'pg';
import { DependencyUnavailableError, InvalidRequestError, TOPICS } from '@fedgate/contracts';
import { eventIdOfConsistencyToken } from './consistency-token';

/** The consumer name under which the projector records applied event ids (processed_event). */
export const PROJECTOR_CONSUMER = 'authz-projector';

export interface ProjectorPosition {
  /** Incremented by every rebuild. */
  generation: number;
  /** Ownership events applied in this generation. */
  applied: bigint;
}

export const formatPosition = (p: ProjectorPosition): string => `${p.generation}:${p.applied}`;

/**
 * What this instance knows of the projector: its position (polled from PostgreSQL, and
 * pushed by the local projector at once) and which events it has applied. Any instance can
 * answer read-your-writes, whichever instance's projector applied the write.
 */
export class ProjectionState {
  private current: ProjectorPosition = { generation: 0, applied: 0n };
  private readonly listeners: Array<(p: ProjectorPosition, previous: ProjectorPosition) => void> = [];
  private readonly waiters = new Set<() => void>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly pool: Pool,
    private readonly options: { pollMs: number; waitMs: number },
  ) {}

  get position(): ProjectorPosition {
    return this.current;
  }

  /** Called on every change of position (invalidates decision caches, restarts projectors on a new generation). */
  onChange(listener: (p: ProjectorPosition, previous: ProjectorPosition) => void): void {
    this.listeners.push(listener);
  }

  async ensureRow(): Promise<void> {
    await this.pool.query('INSERT INTO authz_projection (id) VALUES (1) ON CONFLICT DO NOTHING');
    await this.refresh();
  }

  start(): void {
    const tick = () => {
      this.refresh()
        .catch(() => undefined)
        .finally(() => {
          if (this.timer) this.timer = setTimeout(tick, this.options.pollMs);
        });
    };
    this.timer = setTimeout(tick, this.options.pollMs);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  async refresh(): Promise<void> {
    const { rows } = await this.pool.query<{ generation: number; applied_events: string }>('SELECT generation, applied_events FROM authz_projection WHERE id = 1');
    if (rows[0]) this.update({ generation: rows[0].generation, applied: BigInt(rows[0].applied_events) });
  }

  /** The local projector applied something: everyone here learns it without waiting for a poll. */
  update(next: ProjectorPosition): void {
    const previous = this.current;
    if (next.generation === previous.generation && next.applied === previous.applied) return;
    this.current = next;
    for (const listener of this.listeners) listener(next, previous);
    for (const wake of [...this.waiters]) wake();
  }

  async isApplied(eventId: string): Promise<boolean> {
    const { rowCount } = await this.pool.query('SELECT 1 FROM processed_event WHERE consumer = $1 AND event_id = $2', [PROJECTOR_CONSUMER, eventId]);
    return (rowCount ?? 0) > 0;
  }

  /**
   * Resolves once the write the token names is applied; a token of no ownership write is
   * refused at once (400), a write not applied within the bound is a 503 consistency_timeout.
   */
  async waitForToken(token: string): Promise<void> {
    const eventId = eventIdOfConsistencyToken(token);
    if (await this.isApplied(eventId)) return;
    // ownership rows are never pruned from the outbox (EVENT_SOURCED_TOPICS), so any token of ours is found
    const { rowCount } = await this.pool.query('SELECT 1 FROM outbox_event WHERE id = $1::uuid AND topic = $2', [eventId, TOPICS.ownership]);
    if (!rowCount) {
      throw new InvalidRequestError('consistency_token names no write of this Fedgate', [{ field: 'consistency_token', message: 'unknown write' }]);
    }
    await this.waitApplied(eventId, this.options.waitMs);
  }

  async waitApplied(eventId: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (let pause = 5; ; pause = Math.min(pause * 2, 50)) {
      if (await this.isApplied(eventId)) return;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new DependencyUnavailableError('consistency_timeout', 'projector', `The write was not applied within ${timeoutMs} ms; retry with the same token.`);
      }
      // woken early when the local projector moves; polled otherwise (another instance's projector)
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, Math.min(pause, left));
        this.waiters.add(wake);
      });
    }
  }
}
