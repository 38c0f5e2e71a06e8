import { overloaded } from '@fedgate/contracts';

export interface GroupedCallsOptions<T> {
  /** Sends out at once; calls that arrive while they are out wait and leave together in the next. */
  maxInFlight: number;
  /** Calls per send. */
  maxBatch: number;
  /**
   * Most calls waiting for a send. One more is refused at once with 503 `overloaded`: past this
   * the dependency is not keeping up, and a longer queue would only make every answer later.
   */
  maxWaiting: number;
  /** What is overloaded, named in the refusal (e.g. 'audit outbox writer'). */
  name: string;
  /**
   * Least time between the starts of two sends (default 0). A call that finds nothing in flight
   * waits out the rest of it: under a steady stream a send then carries about rate × interval
   * calls, each at most that much later, while a call after a quiet spell still leaves at once.
   */
  minIntervalMs?: number;
  /** Calls of different groups never share a send (e.g. two OpenFGA stores); the oldest call's group goes first. */
  groupOf?: (item: T) => string;
}

/**
 * One send for a group of calls. It answers one outcome per call, in order: a value, or an Error
 * that fails that call alone. A send that throws fails every call of its group.
 */
export type GroupSend<T, R> = (items: T[]) => Promise<ReadonlyArray<R | Error>>;

interface Waiting<T, R> {
  item: T;
  resolve: (value: R) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit for calls to a dependency (an INSERT, an OpenFGA Check, a lookup): while
 * `maxInFlight` sends are out, new calls queue and leave together in the next send. An idle
 * call leaves at once, so it waits for nothing; under load the dependency gets fewer, larger
 * requests, which cost it (and us) less per call; `minIntervalMs` gathers more per send from a
 * stream too thin to fill them while one is in flight. Every call still gets its own answer or
 * its own failure. The queue is bounded (`maxWaiting`): overflow is shed with `overloaded`,
 * never an unbounded wait.
 */
export class GroupedCalls<T, R> {
  private queue: Array<Waiting<T, R>> = [];
  private inFlight = 0;
  private lastSendAt = Number.NEGATIVE_INFINITY;
  private nextSend: NodeJS.Timeout | null = null;

  constructor(private readonly send: GroupSend<T, R>, private readonly options: GroupedCallsOptions<T>) {}

  call(item: T): Promise<R> {
    if (this.queue.length >= this.options.maxWaiting) return Promise.reject(overloaded(this.options.name));
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.drain();
    });
  }

  /** Calls waiting for a send (for metrics and tests). */
  get waiting(): number {
    return this.queue.length;
  }

  private drain(): void {
    while (this.inFlight < this.options.maxInFlight && this.queue.length > 0 && this.nextSend === null) {
      const interval = this.options.minIntervalMs ?? 0;
      // at most the interval, also when the wall clock was set back since the last send
      const wait = Math.min(interval, this.lastSendAt + interval - Date.now());
      if (wait > 0) {
        this.nextSend = setTimeout(() => {
          this.nextSend = null;
          this.lastSendAt = Number.NEGATIVE_INFINITY; // waited out
          this.drain();
        }, wait);
        return;
      }
      this.lastSendAt = Date.now();
      this.inFlight++;
      void this.sendGroup(this.takeGroup());
    }
  }

  /** The oldest waiting calls, at most maxBatch, all of the first one's group. */
  private takeGroup(): Array<Waiting<T, R>> {
    const { groupOf, maxBatch } = this.options;
    if (groupOf === undefined) return this.queue.splice(0, maxBatch);
    const key = groupOf(this.queue[0]!.item);
    const group: Array<Waiting<T, R>> = [];
    const rest: Array<Waiting<T, R>> = [];
    for (const w of this.queue) (group.length < maxBatch && groupOf(w.item) === key ? group : rest).push(w);
    this.queue = rest;
    return group;
  }

  private async sendGroup(group: Array<Waiting<T, R>>): Promise<void> {
    let outcomes: ReadonlyArray<R | Error> | undefined;
    let failure: unknown;
    try {
      outcomes = await this.send(group.map((w) => w.item));
    } catch (err) {
      failure = err;
    }
    // the next group leaves before these callers go on, as a group commit's next write would
    this.inFlight--;
    this.drain();
    group.forEach((w, i) => {
      if (outcomes === undefined) return w.reject(failure);
      const outcome = i < outcomes.length ? outcomes[i] : new Error(`${this.options.name} gave no answer for this call`);
      if (outcome instanceof Error) w.reject(outcome);
      else w.resolve(outcome as R);
    });
  }
}
