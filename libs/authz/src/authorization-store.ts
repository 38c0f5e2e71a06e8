import { DependencyUnavailableError, isOverloaded } from '@fedgate/contracts';
import { CheckBatcher, OPENFGA_MAX_TUPLES_PER_WRITE, OpenFgaHttpClient, OpenFgaRequestError, type CheckBatcherOptions, type TupleKey } from '@fedgate/openfga';
import { modelToJson, relationsByType, sameModel } from './authorization-model';
import type { TupleChange } from './ownership-tuples';

export interface PinnedModel {
  storeId: string;
  modelId: string;
}

/** Any OpenFGA failure, as the fail-closed answer: 503 authz_unavailable. */
export function authzUnavailable(err: unknown): DependencyUnavailableError {
  const reason = err instanceof OpenFgaRequestError ? err.message : 'OpenFGA failed';
  return new DependencyUnavailableError('authz_unavailable', 'openfga', `The authorization backend cannot answer (${reason}).`, { cause: err });
}

/**
 * Fedgate's OpenFGA store: found or created by name, the model written when it changed and
 * its id pinned, so every check and write names the model it means.
 */
export class AuthorizationStore {
  private pinnedModel: PinnedModel | null = null;
  private readonly model: ReturnType<typeof modelToJson>;
  private readonly checks: CheckBatcher;
  readonly relations: Map<string, Set<string>>;

  constructor(
    readonly fga: OpenFgaHttpClient,
    private readonly options: { storeName: string; modelDsl: string; checkBatching?: Partial<CheckBatcherOptions> },
  ) {
    this.model = modelToJson(options.modelDsl);
    this.relations = relationsByType(this.model);
    this.checks = new CheckBatcher(fga, options.checkBatching);
  }

  /** Finds the store, writes the model when the newest stored one differs, pins its id. */
  async pin(): Promise<PinnedModel & { written: boolean }> {
    const storeId = await this.fga.findOrCreateStore(this.options.storeName);
    const latest = await this.fga.latestModel(storeId);
    const written = !latest || !sameModel(latest, this.model);
    const modelId = written ? await this.fga.writeModel(storeId, this.model) : latest.id;
    this.pinnedModel = { storeId, modelId };
    return { storeId, modelId, written };
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

  async check(tuple: TupleKey): Promise<boolean> {
    const { storeId, modelId } = this.pinned();
    try {
      // concurrent checks share BatchCheck requests (see CheckBatcher)
      return await this.checks.check(storeId, modelId, tuple);
    } catch (err) {
      // a shed check (the batcher's queue is full) keeps its own code
      if (isOverloaded(err)) throw err;
      throw authzUnavailable(err);
    }
  }

  async apply(change: TupleChange): Promise<void> {
    const { storeId, modelId } = this.pinned();
    await this.fga.write(storeId, modelId, change);
  }

  /** Deletes every tuple of the store (the model stays); answers how many. */
  async deleteAllTuples(): Promise<number> {
    const { storeId, modelId } = this.pinned();
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
  }
}
