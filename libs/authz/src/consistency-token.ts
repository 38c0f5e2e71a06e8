import { InvalidRequestError } from '@fedgate/contracts';

/**
 * A consistency token names the ownership event a write appended: `ct1.<event id>`. A check
 * or list that carries it waits until the projector has applied that event (in any instance:
 * the applied event ids are in PostgreSQL). Opaque to callers; versioned so it can change.
 */
const PREFIX = 'ct1.';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function consistencyTokenFor(eventId: string): string {
  return `${PREFIX}${eventId}`;
}

/** The event id a token names; a token Fedgate never issued is an invalid_request. */
export function eventIdOfConsistencyToken(token: string): string {
  const id = token.startsWith(PREFIX) ? token.slice(PREFIX.length) : '';
  if (!UUID.test(id)) {
    throw new InvalidRequestError('consistency_token is not a token answered by a Fedgate write', [{ field: 'consistency_token', message: 'unknown format' }]);
  }
  return id;
}
