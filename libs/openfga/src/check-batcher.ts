import { GroupedCalls } from '@fedgate/platform';
import { OPENFGA_MAX_CHECKS_PER_BATCH, OpenFgaRequestError, type OpenFgaHttpClient, type TupleKey } from './openfga-http.client';

interface Question {
  storeId: string;
  modelId: string;
  tuple: TupleKey;
}

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

/**
 * Check, coalesced: while `maxInFlight` requests are out, new checks queue and go together as
 * one BatchCheck. A lone check leaves at once as a plain Check, so it waits for nothing; under
 * load OpenFGA gets fewer, larger requests, which costs it (and us) less per check than one
 * HTTP exchange each. Every check still gets its own answer or its own failure. The queue is
 * bounded (`maxWaiting`, default 10 full batches): overflow is shed with `overloaded`.
 */
export class CheckBatcher {
  private readonly calls: GroupedCalls<Question, boolean>;

  constructor(fga: Pick<OpenFgaHttpClient, 'check' | 'batchCheck'>, options: Partial<CheckBatcherOptions> = {}) {
    const maxBatch = Math.min(options.maxBatch ?? OPENFGA_MAX_CHECKS_PER_BATCH, OPENFGA_MAX_CHECKS_PER_BATCH);
    this.calls = new GroupedCalls<Question, boolean>(
      async (questions) => {
        const { storeId, modelId } = questions[0]!;
        if (questions.length === 1) return [await fga.check(storeId, modelId, questions[0]!.tuple)];
        const answers = await fga.batchCheck(storeId, modelId, questions.map((q) => q.tuple));
        return questions.map((_, i) => answers[i] ?? new OpenFgaRequestError(null, 'OpenFGA gave no answer for this check'));
      },
      { maxInFlight: options.maxInFlight ?? 2, maxBatch, maxWaiting: options.maxWaiting ?? 10 * maxBatch, name: 'OpenFGA check queue', groupOf: (q) => `${q.storeId} ${q.modelId}` },
    );
  }

  check(storeId: string, modelId: string, tuple: TupleKey): Promise<boolean> {
    return this.calls.call({ storeId, modelId, tuple });
  }

  /** Checks waiting for a free request (for metrics and tests). */
  get waiting(): number {
    return this.calls.waiting;
  }
}
