import type { Request } from 'express';
import type { z } from 'zod';
import { InvalidRequestError, parseOrThrow } from '@fedgate/contracts';

const MEDIA_TYPES = { json: 'application/json', form: 'application/x-www-form-urlencoded' } as const;

/**
 * The request body of the expected media type, validated against a contracts schema:
 * a wrong content type is 415 unsupported_media_type, a wrong shape 400 invalid_request.
 */
export function validBody<S extends z.ZodType>(req: Request, kind: keyof typeof MEDIA_TYPES, schema: S): z.output<S> {
  if (!req.is(MEDIA_TYPES[kind])) {
    throw new InvalidRequestError(`Content-Type must be ${MEDIA_TYPES[kind]}.`, [], 'unsupported_media_type');
  }
  return parseOrThrow(schema, req.body ?? {});
}
