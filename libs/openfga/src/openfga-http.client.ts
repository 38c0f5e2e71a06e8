import http from 'node:http';
import https from 'node:https';

/** One relationship tuple, in OpenFGA's wire form. */
export interface TupleKey {
  user: string;
  relation: string;
  object: string;
}

/**
 * OpenFGA did not give a usable answer. `status` is null when it could not be reached or
 * timed out; callers fail closed on any of these.
 */
export class OpenFgaRequestError extends Error {
  override readonly name = 'OpenFgaRequestError';

  constructor(
    readonly status: number | null,
    message: string,
  ) {
    super(message);
  }
}

export interface OpenFgaHttpSettings {
  url: string;
  apiKey: string;
  /** Whole-request deadline; a decision must fail fast (and closed) rather than hang a SuperLink call. */
  timeoutMs?: number;
  /** Most sockets kept open to OpenFGA. */
  maxSockets?: number;
}

export interface StoredModel {
  id: string;
  schema_version: string;
  type_definitions: unknown[];
  conditions?: Record<string, unknown>;
}

/** OpenFGA accepts at most this many checks in one BatchCheck (its default, OPENFGA_MAX_CHECKS_PER_BATCH_CHECK). */
export const OPENFGA_MAX_CHECKS_PER_BATCH = 50;

/** OpenFGA accepts at most this many tuple changes in one Write (its default). */
export const OPENFGA_MAX_TUPLES_PER_WRITE = 100;

/**
 * OpenFGA's HTTP API over one keep-alive agent, without retries: the hot path (Check) costs
 * one request on a warm socket, and a failure is reported at once so the caller can deny.
 * (@openfga/sdk retries and adds per-call work we do not want on every decision, so Fedgate
 * does not use it: see libs/openfga/README.md.)
 */
export class OpenFgaHttpClient {
  private readonly base: URL;
  private readonly agent: http.Agent;
  private readonly transport: typeof http | typeof https;
  private readonly authorization: string;
  private readonly timeoutMs: number;

  constructor(settings: OpenFgaHttpSettings) {
    this.base = new URL(settings.url.replace(/\/$/, '') + '/');
    this.transport = this.base.protocol === 'https:' ? https : http;
    this.agent = new this.transport.Agent({ keepAlive: true, maxSockets: settings.maxSockets ?? 64 });
    this.authorization = `Bearer ${settings.apiKey}`;
    this.timeoutMs = settings.timeoutMs ?? 2000;
  }

  async findOrCreateStore(name: string): Promise<string> {
    let token = '';
    do {
      const page = await this.request<{ stores: Array<{ id: string; name: string }>; continuation_token?: string }>(
        'GET',
        `stores?page_size=100${token ? `&continuation_token=${encodeURIComponent(token)}` : ''}`,
      );
      const found = page.stores.find((s) => s.name === name);
      if (found) return found.id;
      token = page.continuation_token ?? '';
    } while (token);
    return (await this.request<{ id: string }>('POST', 'stores', { name })).id;
  }

  async deleteStore(storeId: string): Promise<void> {
    await this.request('DELETE', `stores/${storeId}`);
  }

  /** The newest model of the store, or null when it has none. */
  async latestModel(storeId: string): Promise<StoredModel | null> {
    const page = await this.request<{ authorization_models: StoredModel[] }>('GET', `stores/${storeId}/authorization-models?page_size=1`);
    return page.authorization_models[0] ?? null;
  }

  async writeModel(storeId: string, model: object): Promise<string> {
    return (await this.request<{ authorization_model_id: string }>('POST', `stores/${storeId}/authorization-models`, model)).authorization_model_id;
  }

  async check(storeId: string, modelId: string, tuple: TupleKey): Promise<boolean> {
    const answer = await this.request<{ allowed?: boolean }>('POST', `stores/${storeId}/check`, { tuple_key: tuple, authorization_model_id: modelId });
    return answer.allowed === true;
  }

  /**
   * Several checks in one BatchCheck request (at most OPENFGA_MAX_CHECKS_PER_BATCH): one answer
   * per tuple, in order, each `true`/`false` or the error OpenFGA gave for that check alone.
   */
  async batchCheck(storeId: string, modelId: string, tuples: TupleKey[]): Promise<Array<boolean | OpenFgaRequestError>> {
    type Result = { allowed?: boolean; error?: { message?: string; input_error?: string; internal_error?: string } };
    const answer = await this.request<{ result?: Record<string, Result> }>('POST', `stores/${storeId}/batch-check`, {
      authorization_model_id: modelId,
      checks: tuples.map((tuple_key, i) => ({ tuple_key, correlation_id: String(i) })),
    });
    return tuples.map((_, i) => {
      const result = answer.result?.[String(i)];
      if (!result) return new OpenFgaRequestError(null, `OpenFGA's batch answer has no result for check ${i}`);
      if (result.error) return new OpenFgaRequestError(null, `OpenFGA could not decide check ${i}: ${String(result.error.message ?? result.error.input_error ?? result.error.internal_error ?? 'error').slice(0, 300)}`);
      return result.allowed === true;
    });
  }

  /** The objects of `type` the user has `relation` to (OpenFGA ListObjects). */
  async listObjects(storeId: string, modelId: string, query: { user: string; relation: string; type: string }): Promise<string[]> {
    return (await this.request<{ objects: string[] }>('POST', `stores/${storeId}/list-objects`, { authorization_model_id: modelId, ...query })).objects;
  }

  /** Idempotent writes and deletes: an existing tuple written again, or a missing one deleted, is not an error. */
  async write(storeId: string, modelId: string, change: { writes?: TupleKey[]; deletes?: TupleKey[] }): Promise<void> {
    const body: Record<string, unknown> = { authorization_model_id: modelId };
    if (change.writes?.length) body['writes'] = { tuple_keys: change.writes, on_duplicate: 'ignore' };
    if (change.deletes?.length) body['deletes'] = { tuple_keys: change.deletes, on_missing: 'ignore' };
    if (!body['writes'] && !body['deletes']) return;
    await this.request('POST', `stores/${storeId}/write`, body);
  }

  /** Every tuple of the store, page by page. */
  async *readAll(storeId: string): AsyncGenerator<TupleKey[]> {
    let token = '';
    do {
      const page = await this.request<{ tuples: Array<{ key: TupleKey }>; continuation_token?: string }>('POST', `stores/${storeId}/read`, {
        page_size: OPENFGA_MAX_TUPLES_PER_WRITE,
        ...(token ? { continuation_token: token } : {}),
      });
      if (page.tuples.length > 0) yield page.tuples.map((t) => ({ user: t.key.user, relation: t.key.relation, object: t.key.object }));
      token = page.continuation_token ?? '';
    } while (token);
  }

  close(): void {
    this.agent.destroy();
  }

  private request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise<T>((resolve, reject) => {
      const req = this.transport.request(
        new URL(path, this.base),
        {
          method,
          agent: this.agent,
          timeout: this.timeoutMs,
          headers: {
            authorization: this.authorization,
            accept: 'application/json',
            ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (err) => reject(new OpenFgaRequestError(null, `OpenFGA answer broken: ${err.message}`)));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let json: Record<string, unknown> = {};
            try {
              json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
            } catch {
              reject(new OpenFgaRequestError(res.statusCode ?? null, 'OpenFGA answered something that is not JSON'));
              return;
            }
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) resolve(json as T);
            else reject(new OpenFgaRequestError(status, `OpenFGA answered ${status} ${String(json['code'] ?? '')}: ${String(json['message'] ?? '').slice(0, 300)}`));
          });
        },
      );
      // the whole request, not only socket idleness, is bounded
      const deadline = setTimeout(() => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      req.on('close', () => clearTimeout(deadline));
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on('error', (err) => reject(err instanceof OpenFgaRequestError ? err : new OpenFgaRequestError(null, `OpenFGA unreachable: ${err.message}`)));
      req.end(payload);
    });
  }
}
