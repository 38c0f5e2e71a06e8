import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  OBJECT_TYPES,
  ObjectRefStringSchema,
  RELATIONS,
  RELATIONS_BY_OBJECT_TYPE,
  SERVICE_ROLE_RELATION,
  accountUser,
  formatObjectRef,
  parseObjectRef,
  relationAppliesTo,
  runObject,
  serviceObject,
  tryParseObjectRef,
} from './authorization';
import { FedgateError } from './errors';

describe('OpenFGA vocabulary', () => {
  it("keeps Flower's names", () => {
    assert.deepEqual([...OBJECT_TYPES], ['flwr_aid', 'service', 'run']);
    assert.ok(relationAppliesTo('has_access', 'service'));
    assert.equal(SERVICE_ROLE_RELATION.member, 'has_access');
    assert.equal(SERVICE_ROLE_RELATION.admin, 'admin');
  });
  it('defines every relation on exactly one object type', () => {
    for (const relation of RELATIONS) {
      const types = OBJECT_TYPES.filter((type) => RELATIONS_BY_OBJECT_TYPE[type].includes(relation));
      assert.equal(types.length, 1, relation);
    }
    assert.equal(relationAppliesTo('can_view', 'service'), false);
    assert.equal(relationAppliesTo('has_access', 'run'), false);
  });
});

describe('object references', () => {
  it('parses valid references', () => {
    assert.deepEqual(parseObjectRef('service:superlink'), { type: 'service', id: 'superlink' });
    assert.deepEqual(parseObjectRef('run:42'), { type: 'run', id: '42' });
    assert.deepEqual(parseObjectRef('flwr_aid:auth0|abc'), { type: 'flwr_aid', id: 'auth0|abc' });
    assert.deepEqual(parseObjectRef('service:my-link.prod_1'), { type: 'service', id: 'my-link.prod_1' });
  });

  it('refuses injection-like and malformed references', () => {
    const bad = [
      'run:1#owner',
      'service:a b',
      'service:a\tb',
      'service:a\nb',
      '',
      'run:',
      ':42',
      'run',
      'run:42:43',
      'run:abc',
      'run:-1',
      'run:007',
      'service:*',
      'document:1',
      'Service:superlink',
      ' service:superlink',
      'service:superlink ',
      'flwr_aid:alice#member',
      'service:' + 'x'.repeat(249),
      'x'.repeat(1000),
    ];
    for (const value of bad) {
      const result = tryParseObjectRef(value);
      assert.equal(result.ok, false, JSON.stringify(value));
      assert.throws(() => parseObjectRef(value), (error: unknown) => error instanceof FedgateError && error.code === 'invalid_request');
      assert.equal(ObjectRefStringSchema.safeParse(value).success, false);
    }
    assert.equal(tryParseObjectRef(42).ok, false);
  });

  it('accepts an id up to the 256-character object bound', () => {
    const longest = 'service:' + 'x'.repeat(248);
    assert.equal(longest.length, 256);
    assert.ok(tryParseObjectRef(longest).ok);
  });

  it('says what is wrong', () => {
    const result = tryParseObjectRef('run:1#owner');
    assert.ok(!result.ok && result.problem === "id must not contain '#'", JSON.stringify(result));
    const notNumeric = tryParseObjectRef('run:abc');
    assert.ok(!notNumeric.ok && /unsigned 64-bit/.test(notNumeric.problem));
    const hashInService = tryParseObjectRef('service:a#admin');
    assert.ok(!hashInService.ok && hashInService.problem.includes("'#'"));
    const unknown = tryParseObjectRef('document:1');
    assert.ok(!unknown.ok && unknown.problem.includes("unknown type 'document'"));
  });

  it('formats and round-trips', () => {
    for (const value of ['service:superlink', 'run:18446744073709551615', 'flwr_aid:alice']) {
      assert.equal(formatObjectRef(parseObjectRef(value)), value);
    }
    assert.equal(serviceObject('superlink'), 'service:superlink');
    assert.equal(runObject('42'), 'run:42');
    assert.equal(accountUser('alice'), 'flwr_aid:alice');
  });

  it('refuses to format ids that would change meaning', () => {
    assert.throws(() => runObject('1#owner'), FedgateError);
    assert.throws(() => serviceObject('a b'), FedgateError);
    assert.throws(() => accountUser('x:y'), FedgateError);
    assert.throws(() => serviceObject(''), FedgateError);
  });
});
