import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseOrThrow } from '../validation';
import { OpenFgaCheckParamsSchema, OpenFgaCheckRequestSchema, OpenFgaCheckResponseSchema } from './openfga-check-api';

const flowerCheck = {
  tuple_key: { user: 'flwr_aid:alice', relation: 'has_access', object: 'service:superlink' },
  authorization_model_id: '01HVMMBCMGZNT3SED4Z17ECXCA',
};

describe('OpenFGA-compatible check', () => {
  it("accepts the request Flower's OpenFGA plugin sends", () => {
    assert.deepEqual(parseOrThrow(OpenFgaCheckRequestSchema, flowerCheck), flowerCheck);
    assert.ok(OpenFgaCheckParamsSchema.safeParse({ store_id: '01HVMMBCMGZNT3SED4Z17ECXCA' }).success);
    assert.equal(OpenFgaCheckParamsSchema.safeParse({ store_id: 'store' }).success, false);
  });

  it('follows OpenFGA tuple rules', () => {
    const withTupleKey = (tuple_key: Record<string, string>) => ({ tuple_key: { ...flowerCheck.tuple_key, ...tuple_key } });
    assert.ok(OpenFgaCheckRequestSchema.safeParse(withTupleKey({ object: 'document:1' })).success, 'other types are well-formed');
    assert.ok(OpenFgaCheckRequestSchema.safeParse(withTupleKey({ user: 'group:admins#member' })).success, 'usersets are well-formed users');
    assert.ok(OpenFgaCheckRequestSchema.safeParse(withTupleKey({ user: 'flwr_aid:*' })).success, 'typed wildcard user');
    const badTupleKeys: Array<Record<string, string>> = [
      { object: 'service:a b' },
      { object: 'service:a#b' },
      { object: 'service:*' },
      { object: 'superlink' },
      { user: 'flwr_aid:a:b' },
      { user: 'flwr_aid:alice bob' },
      { user: 'flwr_aid:' + 'x'.repeat(600) },
      { relation: 'has access' },
      { relation: 'x@y' },
      { relation: '' },
      { object: 'service:' + 'x'.repeat(300) },
    ];
    for (const bad of badTupleKeys) {
      assert.equal(OpenFgaCheckRequestSchema.safeParse(withTupleKey(bad)).success, false, JSON.stringify(bad));
    }
  });

  it('refuses contextual tuples, which would let the caller assert relationships', () => {
    assert.throws(
      () => parseOrThrow(OpenFgaCheckRequestSchema, { ...flowerCheck, contextual_tuples: { tuple_keys: [{ user: 'flwr_aid:eve', relation: 'owner', object: 'run:1' }] } }),
      /contextual_tuples\.tuple_keys: contextual tuples are not accepted/,
    );
    assert.ok(OpenFgaCheckRequestSchema.safeParse({ ...flowerCheck, contextual_tuples: { tuple_keys: [] } }).success);
  });

  it('answers {allowed, resolution?}', () => {
    assert.ok(OpenFgaCheckResponseSchema.safeParse({ allowed: true, resolution: '' }).success);
    assert.equal(OpenFgaCheckResponseSchema.safeParse({}).success, false);
  });
});
