/**
 * Notices a consumer that has gone silent: no fetch, heartbeat, group join or batch for
 * `stallMs`. kafkajs can hang that way without a CRASH event, e.g. re-joining its group after
 * the process was paused past its session (seen here: a projector left its group for good
 * after a two-minute pause, while the service still reported ready). `onStall` is called once
 * per silence; a busy handler (waiting on its own database, say) is not a silence.
 */
export class StallWatch {
  private lastSign = Date.now();
  private busy = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly stallMs: number, private readonly onStall: (silentMs: number) => void) {}

  /** The consumer showed life (a fetch, heartbeat, join or finished batch). */
  sign(): void {
    this.lastSign = Date.now();
  }

  /** Runs `work` (a batch's handler) as a sign of life that lasts while it runs. */
  async whileBusy<T>(work: () => Promise<T>): Promise<T> {
    this.busy++;
    try {
      return await work();
    } finally {
      this.busy--;
      this.sign();
    }
  }

  start(): void {
    this.sign();
    if (this.timer) return;
    this.timer = setInterval(() => {
      const silentMs = Date.now() - this.lastSign;
      if (this.busy > 0 || silentMs < this.stallMs) return;
      this.sign(); // the next call only after another full silence
      this.onStall(silentMs);
    }, Math.max(250, Math.floor(this.stallMs / 4)));
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
