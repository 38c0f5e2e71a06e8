import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidRequestError } from '../errors';
import { parseOrThrow } from '../validation';
import {
  BATCH_CHECK_MAX,
  BatchCheckRequestSchema,
  BatchCheckResponseSchema,
  CheckRequestSchema,
  CheckResponseSchema,
  DeleteRunMemberRequestSchema,
  DeleteServiceMemberRequestSchema,
  ListRunsQuerySchema,
  ListRunsResponseSchema,
  PutRunMemberRequestSchema,
  PutServiceMemberRequestSchema,
  RegisterRunRequestSchema,
  RegisterRunResponseSchema,
  RunMemberParamsSchema,
  ServiceMemberParamsSchema,
  WriteResponseSchema,
} from './authz-api';

const serviceCheck = { flwr_aid: 'alice', relation: 'has_access', object: 'service:superlink' };
const runCheck = { flwr_aid: 'alice', relation: 'can_view', object: 'run:42' };

describe('check', () => {
  it("accepts API.md's examples, with an optional consistency_token", () => {
    assert.deepEqual(parseOrThrow(CheckRequestSchema, serviceCheck), serviceCheck);
    assert.deepEqual(parseOrThrow(CheckRequestSchema, { ...runCheck, consistency_token: 'ct-1' }), { ...runCheck, consistency_token: 'ct-1' });
  });

  it('refuses malformed objects, users and relations, naming the field', () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ ...runCheck, object: 'run:1#owner' }, /^object: /],
      [{ ...serviceCheck, object: 'service:a b' }, /^object: /],
      [{ ...serviceCheck, object: '' }, /^object: /],
      [{ ...serviceCheck, flwr_aid: 'alice#member' }, /^flwr_aid: /],
      [{ ...serviceCheck, flwr_aid: 'flwr_aid:alice' }, /^flwr_aid: /],
      [{ ...serviceCheck, relation: 'reader' }, /^relation: /],
      [{ ...serviceCheck, consistency_token: 'has space' }, /^consistency_token: /],
      [{ ...serviceCheck, relation: 'can_view' }, /relation 'can_view' does not exist on type 'service'/],
      [{ ...runCheck, relation: 'has_access' }, /relation 'has_access' does not exist on type 'run'/],
    ];
    for (const [input, pattern] of cases) {
      assert.throws(
        () => parseOrThrow(CheckRequestSchema, input),
        (error: unknown) => error instanceof InvalidRequestError && pattern.test(error.description),
        JSON.stringify(input),
      );
    }
  });

  it('answers {allowed, decision_id}', () => {
    assert.ok(CheckResponseSchema.safeParse({ allowed: false, decision_id: '3b241101-e2bb-4255-8caf-4136c566a962' }).success);
    assert.equal(CheckResponseSchema.safeParse({ allowed: 'no', decision_id: '3b241101-e2bb-4255-8caf-4136c566a962' }).success, false);
    assert.equal(CheckResponseSchema.safeParse({ allowed: true }).success, false);
  });
});

describe('batch check', () => {
  it(`accepts 1..${BATCH_CHECK_MAX} checks`, () => {
    assert.ok(BatchCheckRequestSchema.safeParse({ checks: [serviceCheck, runCheck] }).success);
    assert.ok(BatchCheckRequestSchema.safeParse({ checks: Array(BATCH_CHECK_MAX).fill(runCheck) }).success);
    assert.equal(BatchCheckRequestSchema.safeParse({ checks: [] }).success, false);
    assert.equal(BatchCheckRequestSchema.safeParse({ checks: Array(BATCH_CHECK_MAX + 1).fill(runCheck) }).success, false);
  });

  it('names the failing entry', () => {
    assert.throws(() => parseOrThrow(BatchCheckRequestSchema, { checks: [runCheck, { ...runCheck, object: 'run:x' }] }), /checks\[1\]\.object/);
  });

  it('answers results in order', () => {
    const results = [
      { allowed: true, decision_id: '3b241101-e2bb-4255-8caf-4136c566a962' },
      { allowed: false, decision_id: '9b2f4a1e-1c3d-4e5f-8a7b-6c5d4e3f2a1b' },
    ];
    assert.deepEqual(BatchCheckResponseSchema.parse({ results }).results, results);
  });
});

describe('runs', () => {
  it('registers with run_id as a string or a safe integer, normalised to a string', () => {
    assert.deepEqual(parseOrThrow(RegisterRunRequestSchema, { run_id: 42, access_token: 'at' }), { run_id: '42', access_token: 'at' });
    assert.deepEqual(parseOrThrow(RegisterRunRequestSchema, { run_id: '18446744073709551615', access_token: 'at', federation: 'local' }), {
      run_id: '18446744073709551615',
      access_token: 'at',
      federation: 'local',
    });
  });

  it('refuses bad run ids, and a run without the owner\'s token', () => {
    for (const run_id of ['1#owner', '-1', 2 ** 60, 'abc', '', null]) {
      assert.throws(() => parseOrThrow(RegisterRunRequestSchema, { run_id, access_token: 'at' }), /run_id/, JSON.stringify(run_id));
    }
    assert.throws(() => parseOrThrow(RegisterRunRequestSchema, { run_id: '1', flwr_aid: 'alice' }), /access_token/);
  });

  it('answers run_id, owner, consistency_token', () => {
    assert.ok(RegisterRunResponseSchema.safeParse({ run_id: '42', owner: 'alice', consistency_token: 'ct' }).success);
    assert.equal(RegisterRunResponseSchema.safeParse({ run_id: '42', owner: 'alice' }).success, false);
  });

  it("lists the runs of the bearer token's person", () => {
    assert.deepEqual(parseOrThrow(ListRunsQuerySchema, { consistency_token: 'ct' }), { consistency_token: 'ct' });
    assert.deepEqual(parseOrThrow(ListRunsQuerySchema, {}), {});
    assert.ok(ListRunsResponseSchema.safeParse({ runs: [{ run_id: '42', role: 'owner', service: 'superlink', federation: 'local' }, { run_id: '7', role: 'admin' }] }).success);
    assert.equal(ListRunsResponseSchema.safeParse({ runs: [{ run_id: '42', role: 'member' }] }).success, false);
  });

  it('shares and unshares runs', () => {
    assert.deepEqual(parseOrThrow(RunMemberParamsSchema, { run_id: '42', flwr_aid: 'bob' }), { run_id: '42', flwr_aid: 'bob' });
    assert.throws(() => parseOrThrow(RunMemberParamsSchema, { run_id: '42#x', flwr_aid: 'bob' }), /run_id/);
    assert.ok(PutRunMemberRequestSchema.safeParse({ role: 'viewer' }).success);
    assert.ok(PutRunMemberRequestSchema.safeParse({ role: 'operator' }).success);
    assert.throws(() => parseOrThrow(PutRunMemberRequestSchema, { role: 'owner' }), /role/);
    // nobody names the actor in a body: the bearer token does
    assert.equal(PutRunMemberRequestSchema.safeParse({ role: 'viewer', acting_flwr_aid: 'alice' }).success, false);
    assert.equal(DeleteRunMemberRequestSchema.safeParse({ acting_flwr_aid: 'alice' }).success, false);
    assert.ok(DeleteRunMemberRequestSchema.safeParse({}).success);
  });
});

describe('services', () => {
  it('grants member/admin and revokes', () => {
    assert.ok(ServiceMemberParamsSchema.safeParse({ service: 'superlink', flwr_aid: 'bob' }).success);
    assert.throws(() => parseOrThrow(ServiceMemberParamsSchema, { service: 'super link', flwr_aid: 'bob' }), /service/);
    assert.ok(PutServiceMemberRequestSchema.safeParse({ role: 'member' }).success);
    assert.ok(PutServiceMemberRequestSchema.safeParse({ role: 'admin' }).success);
    assert.throws(() => parseOrThrow(PutServiceMemberRequestSchema, { role: 'has_access' }), /role/);
    assert.equal(PutServiceMemberRequestSchema.safeParse({ role: 'admin', acting_flwr_aid: 'alice' }).success, false);
    assert.equal(DeleteServiceMemberRequestSchema.safeParse({ acting_flwr_aid: 'admin' }).success, false);
  });

  it('every write answers a consistency_token', () => {
    assert.ok(WriteResponseSchema.safeParse({ consistency_token: '01HZX' }).success);
    assert.equal(WriteResponseSchema.safeParse({}).success, false);
  });
});
