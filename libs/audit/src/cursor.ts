import { FedgateError } from '@fedgate/contracts';

/** A cursor that is not one this service issued (or was altered). */
export class InvalidCursorError extends FedgateError {
  constructor() {
    super('invalid_cursor', 'cursor is not a next_cursor this service issued; start again without it');
  }
}

const CURSOR_PREFIX = 'seq:';

/**
 * Keyset cursor: the seq of the last event of a page, opaque to clients (base64url of
 * `seq:<n>`). It carries nothing secret: a reader allowed to page may read any page.
 */
export function encodeCursor(seq: bigint): string {
  return Buffer.from(`${CURSOR_PREFIX}${seq}`, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): bigint {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(cursor)) throw new InvalidCursorError();
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const m = /^seq:([1-9][0-9]{0,18})$/.exec(text);
  // re-encoding must give the same text: refuses padding tricks and non-canonical forms
  if (!m || encodeCursor(BigInt(m[1]!)) !== cursor) throw new InvalidCursorError();
  return BigInt(m[1]!);
}
