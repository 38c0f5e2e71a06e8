import { overloaded } from '@fedgate/contracts';
import { OPENFGA_MAX_CHECKS_PER_BATCH, OpenFgaRequestError, type OpenFgaHttpClient, type TupleKey } from './openfga-http.client';

export interface CheckBatcherOptions {
  /** Requests to OpenFGA at once; further checks wait and leave together in the next one. */
  maxInFlight: number;
  /** Checks per BatchCheck request (OpenFGA refuses more than OPENFGA_MAX_CHECKS_PER_BATCH). */
  maxBatch: number;
  /**
   * Most checks waiting for a free request. One more is refused at once with 503 `overloaded`:
   * OpenFGA is not keeping up, and a longer queue would only make every answer later.
   */
  maxWaiting: number;
}

interface Waiting {
  storeId: string;
  modelId: string;
  tuple: TupleKey;
  resolve: (allowed: boolean) => void;
  reject: (err: Error) => void;
}

/**
 * Check, coalesced: while `maxInFlight` requests are out, new checks queue and go together as
 * one BatchCheck. A lone check leaves at once as a plain Check, so it waits for nothing; under
 * load OpenFGA gets fewer, larger requests, which costs it (and us) less per check than one
 * HTTP exchange each. Every check still gets its own answer or its own failure. The queue is
 * bounded (`maxWaiting`, default 10 full batches): overflow is shed with `overloaded`.
 */
export class CheckBatcher {
  private readonly queue: Waiting[] = [];
  private inFlight = 0;
  private readonly options: CheckBatcherOptions;

  constructor(
    private readonly fga: Pick<OpenFgaHttpClient, 'check' | 'batchCheck'>,
    options: Partial<CheckBatcherOptions> = {},
  ) {
    const maxBatch = Math.min(options.maxBatch ?? OPENFGA_MAX_CHECKS_PER_BATCH, OPENFGA_MAX_CHECKS_PER_BATCH);
    this.options = { maxInFlight: options.maxInFlight ?? 2, maxBatch, maxWaiting: options.maxWaiting ?? 10 * maxBatch };
  }

  check(storeId: string, modelId: string, tuple: TupleKey): Promise<boolean> {
    if (this.queue.length >= this.options.maxWaiting) return Promise.reject(overloaded('OpenFGA check queue'));
    return new Promise<boolean>((resolve, reject) => {
      this.queue.push({ storeId, modelId, tuple, resolve, reject });
      this.drain();
    });
  }

  /** Checks waiting for a free request (for metrics and tests). */
  get waiting(): number {
    return this.queue.length;
  }

  private drain(): void {
    while (this.inFlight < this.options.maxInFlight && this.queue.length > 0) {
      const batch = this.takeBatch();
      this.inFlight++;
      void this.send(batch).finally(() => {
        this.inFlight--;
        this.drain();
      });
    }
  }

  /** The oldest waiting checks that share the first one's store and model, at most maxBatch. */
  private takeBatch(): Waiting[] {
    const [first] = this.queue;
    const batch: Waiting[] = [];
    for (let i = 0; i < this.queue.length && batch.length < this.options.maxBatch; ) {
      const w = this.queue[i]!;
      if (w.storeId === first!.storeId && w.modelId === first!.modelId) {
        batch.push(w);
        this.queue.splice(i, 1);
      } else i++;
    }
    return batch;
  }

  private async send(batch: Waiting[]): Promise<void> {
    const { storeId, modelId } = batch[0]!;
    try {
      if (batch.length === 1) {
        batch[0]!.resolve(await this.fga.check(storeId, modelId, batch[0]!.tuple));
        return;
      }
      const answers = await this.fga.batchCheck(storeId, modelId, batch.map((w) => w.tuple));
      batch.forEach((w, i) => {
        const answer = answers[i];
        if (typeof answer === 'boolean') w.resolve(answer);
        else w.reject(answer ?? new OpenFgaRequestError(null, 'OpenFGA gave no answer for this check'));
      });
    } catch (err) {
      for (const w of batch) w.reject(err as Error);
    }
  }
}
