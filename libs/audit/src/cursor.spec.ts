import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidCursorError, decodeCursor, encodeCursor } from './cursor';

describe('keyset cursor', () => {
  it('round-trips a seq', () => {
    for (const seq of [1n, 42n, 9_007_199_254_740_993n]) assert.equal(decodeCursor(encodeCursor(seq)), seq);
  });

  it('refuses anything it did not issue', () => {
    const forged = ['', 'x', '!!!', Buffer.from('seq:0').toString('base64url'), Buffer.from('seq:01').toString('base64url'), Buffer.from('seq:-3').toString('base64url'),
      Buffer.from('seq:1 OR 1=1').toString('base64url'), Buffer.from('seq:99999999999999999999').toString('base64url'), `${encodeCursor(5n)}=`, 'a'.repeat(100)];
    for (const cursor of forged) assert.throws(() => decodeCursor(cursor), InvalidCursorError, cursor);
  });
});
