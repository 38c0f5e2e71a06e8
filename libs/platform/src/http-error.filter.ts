import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { ErrorCode, FedgateError } from '@fedgate/contracts';

/** Maps Nest/Express's own HTTP failures (bad JSON, body too large, unknown route) to stable codes. */
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

/**
 * The one place where failures become HTTP answers: `{error, error_description}` with a
 * stable code, never a stack trace. Unexpected errors are logged (without request bodies)
 * and answered as a generic 500.
 */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpErrorFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    if (res.headersSent) return;
    if (exception instanceof FedgateError) {
      res.status(exception.status).json(exception.toBody());
      return;
    }
    // body-parser errors carry a status and a `type` but are not HttpExceptions
    const status =
      exception instanceof HttpException
        ? exception.getStatus()
        : typeof (exception as { status?: unknown })?.status === 'number'
          ? (exception as { status: number }).status
          : 500;
    if (status >= 500) {
      this.logger.error({ err: describeUnexpected(exception) }, 'unexpected error');
      res.status(500).json({ error: 'internal_error', error_description: 'internal error' });
      return;
    }
    const code = codeForHttpStatus(status);
    res.status(status).json({ error: code, error_description: publicDescription(exception, code) });
  }
}

function publicDescription(exception: unknown, code: ErrorCode): string {
  if (code === 'invalid_request' && (exception as { type?: string })?.type === 'entity.parse.failed') {
    return 'request body is not valid JSON';
  }
  if (exception instanceof HttpException) return exception.message;
  return code.replace(/_/g, ' ');
}

function describeUnexpected(exception: unknown): { name: string; message: string; stack?: string } {
  if (exception instanceof Error) return { name: exception.name, message: exception.message, stack: exception.stack };
  return { name: 'non-error', message: String(exception) };
}
