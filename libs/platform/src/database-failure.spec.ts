import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Pool } from 'pg';
import { isDatabaseUnreachable } from './database-failure';

describe('isDatabaseUnreachable', () => {
  it("counts pg-pool's ended pool as unreachable: a request in flight while the service stops gets 503, not 500", async () => {
    const pool = new Pool({ connectionString: 'postgresql://nobody@127.0.0.1:1/none' });
    await pool.end();
    const error = await pool.query('SELECT 1').then(
      () => assert.fail('an ended pool answered'),
      (err: unknown) => err,
    );
    assert.equal(isDatabaseUnreachable(error), true);
    assert.equal(isDatabaseUnreachable(new Error('wrapped', { cause: error })), true);
  });

  it('counts a refused connection and SQLSTATE 57P01 as unreachable, a bad statement not', () => {
    assert.equal(isDatabaseUnreachable(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })), true);
    assert.equal(isDatabaseUnreachable(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })), true);
    assert.equal(isDatabaseUnreachable(Object.assign(new Error('syntax error at or near "SELEC"'), { code: '42601' })), false);
    assert.equal(isDatabaseUnreachable(new Error('Cannot read properties of undefined')), false);
  });
});
