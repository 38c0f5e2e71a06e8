import { parse as parseQueryString } from 'node:querystring';
import { parse as parseContentType } from 'content-type';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { FedgateError, InvalidRequestError, parseOrThrow } from '@fedgate/contracts';

const MEDIA_TYPES = { json: 'application/json', form: 'application/x-www-form-urlencoded' } as const;

export const NOT_JSON = 'request body is not valid JSON';

/** Only UTF-8 bodies are read (as the JSON and form RFCs say); another charset is 415. */
function checkCharset(contentType: string | undefined): void {
  let charset: string | undefined;
  try {
    charset = contentType ? parseContentType(contentType).parameters['charset'] : undefined;
  } catch {
    charset = undefined;
  }
  if (charset !== undefined && !/^utf-8$/i.test(charset)) {
    throw new InvalidRequestError(`Unsupported charset "${charset}": send UTF-8.`, [], 'unsupported_media_type');
  }
}

/** Strict JSON, as clients of the v1 API send it: an object or an array; an empty body is `{}`. */
function parseJsonBody(text: string): unknown {
  const first = /\S/.exec(text)?.[0];
  if (first === undefined) return {};
  if (first === '{' || first === '[') {
    try {
      return JSON.parse(text);
    } catch {
      // answered below: one stable message, not JSON.parse's
    }
  }
  throw new InvalidRequestError(NOT_JSON);
}

/**
 * The service's body parsers, on Fastify: JSON and HTML forms within `bodyLimit` (else 413
 * payload_too_large before reading on), UTF-8 only. A body of any other type is left unread,
 * so the handler answers it 415 (validBody) or ignores it.
 */
export function installBodyParsers(fastify: FastifyInstance, bodyLimit: number): void {
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser(MEDIA_TYPES.json, { parseAs: 'string', bodyLimit }, (req, body, done) => {
    try {
      checkCharset(req.headers['content-type']);
      done(null, parseJsonBody(body as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  fastify.addContentTypeParser(MEDIA_TYPES.form, { parseAs: 'string', bodyLimit }, (req, body, done) => {
    try {
      checkCharset(req.headers['content-type']);
      done(null, { ...parseQueryString(body as string) });
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  fastify.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));
  // a declared length over the limit is refused before routing, on any path (an unknown route too)
  fastify.addHook('onRequest', (request, _reply, done) => {
    const length = Number(request.headers['content-length']);
    done(length > bodyLimit ? new FedgateError('payload_too_large', 'The request body is too large.') : undefined);
  });
}

/** Whether the request has a body (a length or chunked encoding) of the given kind's media type. */
export function hasBodyOfType(req: Pick<FastifyRequest, 'headers'>, kind: keyof typeof MEDIA_TYPES): boolean {
  const { headers } = req;
  if (headers['transfer-encoding'] === undefined && headers['content-length'] === undefined) return false;
  try {
    return parseContentType(headers['content-type'] ?? '').type === MEDIA_TYPES[kind];
  } catch {
    return false;
  }
}

/**
 * The request body of the expected media type, validated against a contracts schema:
 * a wrong content type is 415 unsupported_media_type, a wrong shape 400 invalid_request.
 */
export function validBody<S extends z.ZodType>(req: Pick<FastifyRequest, 'headers' | 'body'>, kind: keyof typeof MEDIA_TYPES, schema: S): z.output<S> {
  if (!hasBodyOfType(req, kind)) {
    throw new InvalidRequestError(`Content-Type must be ${MEDIA_TYPES[kind]}.`, [], 'unsupported_media_type');
  }
  return parseOrThrow(schema, req.body ?? {});
}
