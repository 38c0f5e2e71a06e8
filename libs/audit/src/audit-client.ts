import http from 'node:http';
import https from 'node:https';
import { createInterface } from 'node:readline';
import {
  API_KEY_HEADER,
  AuditCheckpointListResponseSchema,
  AuditEventListResponseSchema,
  AuditEventSchema,
  IntegrityResponseSchema,
  type AuditCheckpointListResponse,
  type AuditEvent,
  type AuditEventListResponse,
  type IntegrityResponse,
} from '@fedgate/contracts';
import type { z } from 'zod';

/** An error answer of the audit service (or no answer at all), with its stable code. */
export class AuditClientError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

export interface AuditClientOptions {
  baseUrl: string;
  apiKey: string;
  /** Trusted CA (PEM) for https; undefined keeps Node's defaults. */
  ca?: string;
}

/** Query-string values of the filters / paging (undefined ones are left out). */
export type AuditQueryParams = Record<string, string | number | undefined>;

/** A small client of the audit-service API for the CLI and outside verifiers. */
export class AuditClient {
  constructor(private readonly options: AuditClientOptions) {}

  async events(params: AuditQueryParams): Promise<AuditEventListResponse> {
    return this.getJson(`/v1/events${queryString(params)}`, AuditEventListResponseSchema);
  }

  async integrity(): Promise<IntegrityResponse> {
    return this.getJson('/v1/integrity', IntegrityResponseSchema);
  }

  async checkpoints(): Promise<AuditCheckpointListResponse> {
    return this.getJson('/v1/integrity/checkpoints', AuditCheckpointListResponseSchema);
  }

  /** The export, one validated event per line, read as it streams. */
  async *export(params: AuditQueryParams): AsyncGenerator<AuditEvent> {
    const response = await this.request(`/v1/events/export${queryString({ ...params, format: 'ndjson' })}`);
    let complete = true;
    response.on('aborted', () => (complete = false));
    const lines = createInterface({ input: response, crlfDelay: Infinity });
    try {
      yield* parseLines(lines);
    } finally {
      // a reader that stops early (verify found a problem) closes the stream
      response.destroy();
    }
    if (!complete || !response.complete) throw new AuditClientError('invalid_answer', 'the export stream was cut off before its end');
  }

  private async getJson<S extends z.ZodType>(path: string, schema: S): Promise<z.output<S>> {
    const response = await this.request(path);
    const chunks: Buffer[] = [];
    for await (const chunk of response) chunks.push(chunk as Buffer);
    const parsed = schema.safeParse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    if (!parsed.success) throw new AuditClientError('invalid_answer', `unexpected answer from ${path}`);
    return parsed.data;
  }

  /** GET; a non-200 answer becomes an AuditClientError with the service's code. */
  private request(path: string): Promise<http.IncomingMessage> {
    const url = new URL(path, this.options.baseUrl);
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = transport.get(
        url,
        { headers: { [API_KEY_HEADER]: this.options.apiKey, accept: 'application/json, application/x-ndjson' }, ...(this.options.ca && url.protocol === 'https:' ? { ca: this.options.ca } : {}), timeout: 120_000 },
        (res) => {
          if (res.statusCode === 200) return resolve(res);
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            let body: { error?: string; error_description?: string } = {};
            try {
              body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
            } catch {
              // not JSON: reported by status below
            }
            reject(new AuditClientError(body.error ?? `http_${res.statusCode}`, body.error_description ?? `the audit service answered ${res.statusCode}`));
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('no answer within 120 s')));
      req.on('error', (err) => reject(new AuditClientError('audit_service_unreachable', `cannot reach the audit service at ${this.options.baseUrl}: ${err.message}`)));
    });
  }
}

function queryString(params: AuditQueryParams): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const text = q.toString();
  return text ? `?${text}` : '';
}

/** NDJSON lines → validated events; anything else means the stream is not an export. */
async function* parseLines(lines: AsyncIterable<string>): AsyncGenerator<AuditEvent> {
  for await (const line of lines) {
    if (line.length === 0) continue;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      throw new AuditClientError('invalid_answer', 'the export stream was cut off or is not NDJSON');
    }
    const parsed = AuditEventSchema.safeParse(json);
    if (!parsed.success) throw new AuditClientError('invalid_answer', `an exported line is not an audit event: ${parsed.error.issues[0]?.message}`);
    yield parsed.data;
  }
}
