import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  RUN_PERMISSIONS,
  RUN_PERMISSION_GRANTS,
  RunIdInputSchema,
  RunIdSchema,
  RunOwnershipSchema,
  effectiveRunRole,
  runIdProblem,
  runRoleAllows,
  type RunOwnership,
} from './runs';

describe('run ids', () => {
  it('accepts canonical uint64 decimals, including the maximum', () => {
    for (const id of ['0', '42', '9007199254740993', '18446744073709551615']) assert.equal(runIdProblem(id), null, id);
  });
  it('refuses signs, leading zeros, overflow and non-digits', () => {
    for (const id of ['', '-1', '+1', '042', '18446744073709551616', '1e3', '4 2', '42#owner', ' 42']) {
      assert.notEqual(runIdProblem(id), null, id);
      assert.equal(RunIdSchema.safeParse(id).success, false, id);
    }
  });
  it('normalises safe JSON integers to strings and refuses unsafe ones', () => {
    assert.equal(RunIdInputSchema.parse(42), '42');
    assert.equal(RunIdInputSchema.parse('18446744073709551615'), '18446744073709551615');
    assert.equal(RunIdInputSchema.safeParse(2 ** 60).success, false);
    assert.equal(RunIdInputSchema.safeParse(-1).success, false);
    assert.equal(RunIdInputSchema.safeParse(1.5).success, false);
  });
});

describe('run roles and permissions', () => {
  it('gives the owner every permission', () => {
    for (const permission of RUN_PERMISSIONS) assert.ok(runRoleAllows('owner', permission), permission);
  });
  it('lets an operator stop but a viewer only read', () => {
    assert.ok(runRoleAllows('operator', 'can_stop'));
    assert.equal(runRoleAllows('viewer', 'can_stop'), false);
    for (const permission of ['can_view', 'can_read_logs', 'can_pull_artifacts'] as const) {
      assert.ok(runRoleAllows('viewer', permission), permission);
    }
  });
  it('covers every permission in the grant table', () => {
    assert.deepEqual(Object.keys(RUN_PERMISSION_GRANTS).sort(), [...RUN_PERMISSIONS].sort());
  });
});

describe('RunOwnership', () => {
  const ownership: RunOwnership = RunOwnershipSchema.parse({
    run_id: '42',
    owner: 'alice',
    members: [
      { flwr_aid: 'bob', role: 'viewer' },
      { flwr_aid: 'carol', role: 'viewer' },
      { flwr_aid: 'carol', role: 'operator' },
    ],
  });
  it('resolves the strongest role', () => {
    assert.equal(effectiveRunRole(ownership, 'alice'), 'owner');
    assert.equal(effectiveRunRole(ownership, 'bob'), 'viewer');
    assert.equal(effectiveRunRole(ownership, 'carol'), 'operator');
    assert.equal(effectiveRunRole(ownership, 'mallory'), null);
  });
  it('refuses unknown member roles', () => {
    assert.equal(RunOwnershipSchema.safeParse({ run_id: '1', owner: 'a', members: [{ flwr_aid: 'b', role: 'owner' }] }).success, false);
  });
});
