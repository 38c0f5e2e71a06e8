import { Controller, Get, Inject, Param, Query, Res, UseGuards } from '@nestjs/common';
import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import {
  API_PATHS,
  AuditEventParamsSchema,
  AuditEventQuerySchema,
  AuditExportQuerySchema,
  IntegrityQuerySchema,
  FedgateError,
  InvalidRequestError,
  parseOrThrow,
  routePattern,
  type AuditCheckpointListResponse,
} from '@fedgate/contracts';
import { ExportEvents, ExternalCheckpoints, GetEvent, QueryEvents, VerifyIntegrity, type CheckpointPublicKey } from '@fedgate/audit';
import { ApiKeyGuard } from '@fedgate/platform';
import { AuditReaderGuard } from './audit-reader.guard';

export const CHECKPOINT_PUBLIC_KEY = Symbol('CHECKPOINT_PUBLIC_KEY');

const FILTERS = ['actor', 'type', 'outcome', 'object', 'since', 'until'];

/** A misspelt filter must not silently widen the answer to everything: unknown parameters are refused. */
function onlyKnown(query: Record<string, unknown>, allowed: readonly string[]): Record<string, unknown> {
  const unknown = Object.keys(query).filter((key) => !allowed.includes(key));
  if (unknown.length > 0) throw new InvalidRequestError(`unknown query parameter(s): ${unknown.join(', ')}`, unknown.map((field) => ({ field, message: 'unknown parameter' })));
  return query;
}

/** The v1 REST API of ../shared/API.md § audit-service. Every call needs an audit-reader key. */
@Controller()
@UseGuards(ApiKeyGuard, AuditReaderGuard)
export class AuditController {
  constructor(
    @Inject(QueryEvents) private readonly queryEvents: QueryEvents,
    @Inject(GetEvent) private readonly getEvent: GetEvent,
    @Inject(ExportEvents) private readonly exportEvents: ExportEvents,
    @Inject(VerifyIntegrity) private readonly verifyIntegrity: VerifyIntegrity,
    @Inject(ExternalCheckpoints) private readonly external: ExternalCheckpoints,
    @Inject(CHECKPOINT_PUBLIC_KEY) private readonly publicKey: CheckpointPublicKey,
  ) {}

  @Get(API_PATHS.audit.events)
  list(@Query() query: Record<string, unknown>) {
    return this.queryEvents.execute(parseOrThrow(AuditEventQuerySchema, onlyKnown(query, [...FILTERS, 'limit', 'cursor', 'after_seq'])));
  }

  // declared before events/:id, which would otherwise take "export" for an id
  /** Streams NDJSON, oldest first, fetching from the database only as fast as the client reads. */
  // Readable.from pulls the next line only when the client has taken the last; a failure after
  // the status line destroys the stream, and a cut-off stream (no final newline) is how the client learns
  @Get(API_PATHS.audit.export)
  export(@Query() query: Record<string, unknown>, @Res() res: FastifyReply): void {
    const filters = parseOrThrow(AuditExportQuerySchema, onlyKnown(query, [...FILTERS, 'format']));
    const events = this.exportEvents.execute(filters);
    const lines = Readable.from((async function* () {
      for await (const event of events) yield `${JSON.stringify(event)}\n`;
    })());
    void res.status(200).headers({ 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store' }).send(lines);
  }

  @Get(routePattern(API_PATHS.audit.event))
  one(@Param() params: Record<string, unknown>) {
    return this.getEvent.execute(parseOrThrow(AuditEventParamsSchema, params).id);
  }

  @Get(API_PATHS.audit.integrity)
  integrity(@Query() query: Record<string, unknown>) {
    return this.verifyIntegrity.execute({ full: parseOrThrow(IntegrityQuerySchema, onlyKnown(query, ['full'])).full });
  }

  /** The checkpoints as kept outside the database (the checkpoint file), not the database's copies. */
  @Get(API_PATHS.audit.checkpoints)
  checkpoints(): AuditCheckpointListResponse {
    if (!this.external.loaded) throw new FedgateError('dependency_unavailable', 'The checkpoint log is not loaded yet (no checkpoint file, and the checkpoint topic cannot be read).');
    return { public_key: this.publicKey.pem, key_id: this.publicKey.keyId, checkpoints: [...this.external.all()] };
  }
}
