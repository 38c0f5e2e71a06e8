import { ArgumentsHost, Catch, ExceptionFilter, HttpException } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode, FedgateError, type ErrorBody } from '@fedgate/contracts';
import { databaseUnavailable, isDatabaseUnreachable } from './database-failure';

/** Maps Nest/Fastify's own HTTP failures (bad JSON, body too large, unknown route) to stable codes. */
function codeForHttpStatus(status: number): ErrorCode {
  switch (status) {
    case 400: return 'invalid_request';
    case 401: return 'invalid_client';
    case 403: return 'forbidden';
    case 404: return 'not_found';
    case 413: return 'payload_too_large';
    case 415: return 'unsupported_media_type';
    case 429: return 'too_many_requests';
    default: return status >= 500 ? 'internal_error' : 'invalid_request';
  }
}

/** The answer to any unexpected failure: no detail leaves the service. */
export const INTERNAL_ERROR_BODY: ErrorBody = { error: 'internal_error', error_description: 'internal error' };

/** What a failure is answered with; `unexpected` is set for the 500s that must be logged. */
export interface ErrorAnswer {
  status: number;
  body: ErrorBody;
  unexpected?: { name: string; message: string; stack?: string };
}

/**
 * The one mapping from failures to HTTP answers: `{error, error_description}` with a stable
 * code, never a stack trace.
 */
export function answerForError(exception: unknown): ErrorAnswer {
  if (exception instanceof FedgateError) return { status: exception.status, body: exception.toBody() };
  // PostgreSQL stopped or restarting: a dependency failure like any other, not a bug
  if (isDatabaseUnreachable(exception)) return { status: 503, body: databaseUnavailable().toBody() };
  // Fastify's own errors (body too large, a broken content length) carry a statusCode but are not HttpExceptions
  const status =
    exception instanceof HttpException
      ? exception.getStatus()
      : typeof (exception as { statusCode?: unknown })?.statusCode === 'number'
        ? (exception as { statusCode: number }).statusCode
        : 500;
  if (status >= 500) {
    return { status: 500, body: INTERNAL_ERROR_BODY, unexpected: describeUnexpected(exception) };
  }
  const code = codeForHttpStatus(status);
  return { status, body: { error: code, error_description: publicDescription(exception, code) } };
}

/**
 * Every failure of a request becomes answerForError's answer: a handler's, a guard's, and
 * Fastify's own (body parsing, unknown route). Unexpected ones are logged on the request's
 * logger, with its request id (without request bodies).
 */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    if (reply.sent) return;
    const answer = answerForError(exception);
    if (answer.unexpected) http.getRequest<FastifyRequest>().log.error({ err: answer.unexpected }, 'unexpected error');
    void reply.status(answer.status).send(answer.body);
  }
}

function publicDescription(exception: unknown, code: ErrorCode): string {
  if (exception instanceof HttpException) return exception.message;
  return code.replace(/_/g, ' ');
}

function describeUnexpected(exception: unknown): { name: string; message: string; stack?: string } {
  if (exception instanceof Error) return { name: exception.name, message: exception.message, stack: exception.stack };
  return { name: 'non-error', message: String(exception) };
}
