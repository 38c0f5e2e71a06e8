import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { InvalidRequestError } from './errors';
import { describeFieldIssues, formatIssuePath, parseOrThrow } from './validation';

describe('parseOrThrow', () => {
  const schema = z.object({ name: z.string(), items: z.array(z.object({ id: z.number() })) });

  it('returns the parsed value', () => {
    assert.deepEqual(parseOrThrow(schema, { name: 'a', items: [{ id: 1 }], extra: true }), { name: 'a', items: [{ id: 1 }] });
  });

  it('throws invalid_request naming each field', () => {
    assert.throws(
      () => parseOrThrow(schema, { items: [{ id: 1 }, { id: 'x' }] }),
      (error: unknown) => {
        assert.ok(error instanceof InvalidRequestError);
        assert.equal(error.code, 'invalid_request');
        assert.equal(error.status, 400);
        assert.match(error.description, /^name: /);
        assert.match(error.description, /items\[1\]\.id: /);
        assert.deepEqual(error.fields.map((issue) => issue.field), ['name', 'items[1].id']);
        return true;
      },
    );
  });

  it('reports a non-object body without a field name', () => {
    assert.throws(() => parseOrThrow(schema, 'text'), (error: unknown) => error instanceof InvalidRequestError && !error.description.startsWith(':'));
  });

  it('caps long issue lists', () => {
    const issues = Array.from({ length: 8 }, (_, index) => ({ field: `f${index}`, message: 'bad' }));
    assert.match(describeFieldIssues(issues), /; and 3 more$/);
  });

  it('formats paths', () => {
    assert.equal(formatIssuePath([]), '');
    assert.equal(formatIssuePath(['checks', 2, 'object']), 'checks[2].object');
    assert.equal(formatIssuePath([0, 'a']), '[0].a');
  });
});
