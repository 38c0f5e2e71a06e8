import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { parseOrThrow } from '../validation';
import {
  AUDIT_GENESIS_HASH,
  AuditEventListResponseSchema,
  AuditEventQuerySchema,
  AuditEventSchema,
  AuditExportQuerySchema,
  IntegrityResponseSchema,
  auditEventHash,
  canonicalJson,
  type AuditEvent,
} from './audit-api';

describe('audit event query', () => {
  it('parses query-string filters and coerces limit', () => {
    const query = parseOrThrow(AuditEventQuerySchema, {
      actor: 'alice',
      type: 'fedgate.authz.decision.v1',
      outcome: 'denied',
      object: 'run:42',
      since: '2030-01-01T00:00:00Z',
      until: '2030-01-02T00:00:00+02:00',
      limit: '50',
      cursor: 'opaque-123',
    });
    assert.equal(query.limit, 50);
    assert.equal(query.outcome, 'denied');
  });

  it('defaults limit to 100 and bounds it to 1..1000', () => {
    assert.equal(parseOrThrow(AuditEventQuerySchema, {}).limit, 100);
    assert.equal(parseOrThrow(AuditEventQuerySchema, { limit: '1000' }).limit, 1000);
    for (const limit of ['0', '1001', '-5', '2.5', 'ten']) {
      assert.throws(() => parseOrThrow(AuditEventQuerySchema, { limit }), /limit/, limit);
    }
  });

  it('refuses malformed filters', () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ actor: 'a b' }, /actor/],
      [{ outcome: 'maybe' }, /outcome/],
      [{ type: 'DROP TABLE' }, /type/],
      [{ since: 'yesterday' }, /since/],
      [{ until: '2030-13-01T00:00:00Z' }, /until/],
      [{ since: '2030-01-02T00:00:00Z', until: '2030-01-01T00:00:00Z' }, /since must not be after until/],
      [{ object: 'run:42 OR 1=1' }, /object/],
      [{ cursor: '' }, /cursor/],
    ];
    for (const [input, pattern] of cases) assert.throws(() => parseOrThrow(AuditEventQuerySchema, input), pattern, JSON.stringify(input));
  });

  it('export takes the same filters and only ndjson', () => {
    assert.equal(parseOrThrow(AuditExportQuerySchema, { actor: 'alice' }).format, 'ndjson');
    assert.throws(() => parseOrThrow(AuditExportQuerySchema, { format: 'csv' }), /format/);
  });
});

describe('audit records and the hash chain', () => {
  const first: Omit<AuditEvent, 'hash'> = {
    id: 'e1',
    seq: 1,
    time: '2030-01-01T00:00:00.000Z',
    type: 'fedgate.authz.decision.v1',
    actor: { flwr_aid: 'alice', account_name: 'Alice' },
    object: 'run:42',
    action: 'check.can_view',
    outcome: 'denied',
    decision_id: '3b241101-e2bb-4255-8caf-4136c566a962',
    source: '/fedgate/authz-service',
    data: { b: 1, a: { y: [2, 1], x: null } },
    prev_hash: AUDIT_GENESIS_HASH,
  };

  it('canonical JSON sorts keys at every level', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [3, { f: 1, e: 2 }], c: null } }), '{"a":{"c":null,"d":[3,{"e":2,"f":1}]},"b":1}');
  });

  it('hashes independently of key order and changes with any field or the previous hash', () => {
    const hash = auditEventHash(first);
    assert.match(hash, /^[0-9a-f]{64}$/);
    assert.equal(auditEventHash({ ...first, data: { a: { x: null, y: [2, 1] }, b: 1 } }), hash);
    assert.notEqual(auditEventHash({ ...first, outcome: 'success' }), hash);
    assert.notEqual(auditEventHash({ ...first, data: { ...first.data, b: 2 } }), hash);
    assert.notEqual(auditEventHash({ ...first, prev_hash: hash }), hash);
  });

  it('hashes SHA-256(prev_hash bytes || RFC 8785 JSON of the record), as documented for outside verifiers', () => {
    const jcs =
      '{"action":"check.can_view","actor":{"account_name":"Alice","flwr_aid":"alice"},"data":{"a":{"x":null,"y":[2,1]},"b":1},' +
      '"decision_id":"3b241101-e2bb-4255-8caf-4136c566a962","id":"e1","object":"run:42","outcome":"denied","seq":1,' +
      '"source":"/fedgate/authz-service","time":"2030-01-01T00:00:00.000Z","type":"fedgate.authz.decision.v1"}';
    assert.equal(canonicalJson((({ prev_hash: _p, ...rest }) => rest)(first)), jcs);
    const expected = createHash('sha256').update(Buffer.alloc(32)).update(jcs, 'utf8').digest('hex');
    assert.equal(auditEventHash(first), expected);
  });

  it('validates records, lists and the integrity answer', () => {
    const record = { ...first, hash: auditEventHash(first) };
    assert.ok(AuditEventSchema.safeParse(record).success);
    assert.ok(AuditEventSchema.safeParse({ ...record, actor: null, object: null, decision_id: undefined }).success);
    assert.equal(AuditEventSchema.safeParse({ ...record, hash: 'abc' }).success, false);
    assert.equal(AuditEventSchema.safeParse({ ...record, seq: 0 }).success, false);
    assert.ok(AuditEventListResponseSchema.safeParse({ events: [record], next_cursor: null }).success);
    assert.ok(IntegrityResponseSchema.safeParse({ ok: true, checked: 0, head: null }).success);
    assert.ok(IntegrityResponseSchema.safeParse({ ok: false, checked: 10, head: { seq: 10, hash: record.hash }, first_bad_seq: 4 }).success);
    assert.equal(IntegrityResponseSchema.safeParse({ ok: true, checked: -1, head: null }).success, false);
  });
});
