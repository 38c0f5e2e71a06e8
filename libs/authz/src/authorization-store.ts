import { DependencyUnavailableError, isFedgateError } from '@fedgate/contracts';
import { CheckBatcher, OPENFGA_MAX_TUPLES_PER_WRITE, OpenFgaHttpClient, OpenFgaRequestError, type CheckBatcherOptions, type TupleKey } from '@fedgate/openfga';
import { modelToJson, relationsByType, sameModel } from './authorization-model';
import type { TupleChange } from './ownership-tuples';

export interface PinnedModel {
  storeId: string;
  modelId: string;
}

/**
 * Fedgate's OpenFGA store: found or created by name, the model written when it changed and
 * its id pinned, so every check and write names the model it means. The adapter maps OpenFGA's
 * failures, once: every method throws them as 503 authz_unavailable (fail closed), so nothing
 * above it knows OpenFGA's error type.
 */
export class AuthorizationStore {
  private pinnedModel: PinnedModel | null = null;
  private readonly model: ReturnType<typeof modelToJson>;
  private readonly checks: CheckBatcher;
  readonly relations: Map<string, Set<string>>;

  constructor(
    private readonly fga: OpenFgaHttpClient,
    private readonly options: { storeName: string; modelDsl: string; checkBatching?: Partial<CheckBatcherOptions> },
  ) {
    this.model = modelToJson(options.modelDsl);
    this.relations = relationsByType(this.model);
    this.checks = new CheckBatcher(fga, options.checkBatching);
  }

  /** Finds the store, writes the model when the newest stored one differs, pins its id. */
  pin(): Promise<PinnedModel & { written: boolean }> {
    return failClosed(async () => {
      const storeId = await this.fga.findOrCreateStore(this.options.storeName);
      const latest = await this.fga.latestModel(storeId);
      const written = !latest || !sameModel(latest, this.model);
      const modelId = written ? await this.fga.writeModel(storeId, this.model) : latest.id;
      this.pinnedModel = { storeId, modelId };
      return { storeId, modelId, written };
    });
  }

  get isPinned(): boolean {
    return this.pinnedModel !== null;
  }

  /** The pinned store and model; before start-up pinned them, checks fail closed. */
  pinned(): PinnedModel {
    if (!this.pinnedModel) {
      throw new DependencyUnavailableError('authz_unavailable', 'openfga', 'The authorization model is not loaded yet (OpenFGA not reached since start).');
    }
    return this.pinnedModel;
  }

  hasRelation(type: string, relation: string): boolean {
    return this.relations.get(type)?.has(relation) ?? false;
  }

  check(tuple: TupleKey): Promise<boolean> {
    const { storeId, modelId } = this.pinned();
    // concurrent checks share BatchCheck requests (see CheckBatcher)
    return failClosed(() => this.checks.check(storeId, modelId, tuple));
  }

  apply(change: TupleChange): Promise<void> {
    const { storeId, modelId } = this.pinned();
    return failClosed(() => this.fga.write(storeId, modelId, change));
  }

  /** Deletes every tuple of the store (the model stays); answers how many. */
  deleteAllTuples(): Promise<number> {
    const { storeId, modelId } = this.pinned();
    return failClosed(async () => {
      let deleted = 0;
      // read a page, delete it, read again from the start: deleting invalidates continuation tokens
      for (;;) {
        const pages = this.fga.readAll(storeId);
        const first = await pages.next();
        await pages.return(undefined);
        if (first.done || first.value.length === 0) return deleted;
        for (let i = 0; i < first.value.length; i += OPENFGA_MAX_TUPLES_PER_WRITE) {
          await this.fga.write(storeId, modelId, { deletes: first.value.slice(i, i + OPENFGA_MAX_TUPLES_PER_WRITE) });
        }
        deleted += first.value.length;
      }
    });
  }

  /** Closes the sockets to OpenFGA. */
  close(): void {
    this.fga.close();
  }
}

/** Any OpenFGA failure of `work`, as the fail-closed answer: 503 authz_unavailable. */
async function failClosed<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (isFedgateError(err)) throw err;
    const reason = err instanceof OpenFgaRequestError ? err.message : 'OpenFGA failed';
    throw new DependencyUnavailableError('authz_unavailable', 'openfga', `The authorization backend cannot answer (${reason}).`, { cause: err });
  }
}
