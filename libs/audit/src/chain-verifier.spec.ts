import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { AUDIT_GENESIS_HASH, auditEventHash, createCloudEvent, type AuditCheckpoint, type AuditEvent, type TrustedHead } from '@fedgate/contracts';
import { chainRows, recordOf, EMPTY_CHAIN } from './audit-record';
import { ChainVerifier } from './chain-verifier';
import { CheckpointSigner, parseCheckpointPublicKey } from './checkpoint-key';

const signer = new CheckpointSigner(generateKeyPairSync('ed25519').privateKey);
const events = Array.from({ length: 20 }, (_, i) =>
  createCloudEvent({ type: 'fedgate.system.test.v1', source: '/fedgate/tests', data: { message: `m${i}`, nonce: 'chain' }, time: new Date(Date.UTC(2030, 0, 1, 0, 0, i)) }),
);
const records = (): AuditEvent[] => chainRows(events, EMPTY_CHAIN).rows.map(recordOf);

function verify(list: AuditEvent[], checkpoints: AuditCheckpoint[] = [], publicKey = signer.publicKey) {
  const verifier = new ChainVerifier(publicKey, checkpoints);
  for (const r of list) if (!verifier.add(r)) break;
  return verifier.finish();
}

/** Rebuilds hashes from `from` on, as an attacker with database access (but no key) could. */
function rechain(list: AuditEvent[]): AuditEvent[] {
  let prev = AUDIT_GENESIS_HASH;
  return list.map((r) => {
    const { hash: _old, ...rest } = { ...r, prev_hash: prev };
    const hash = auditEventHash(rest);
    prev = hash;
    return { ...rest, hash };
  });
}

describe('ChainVerifier', () => {
  it('accepts an intact chain and its checkpoints', () => {
    const list = records();
    const checkpoints = [signer.sign(10, list[9]!.hash, new Date()), signer.sign(20, list[19]!.hash, new Date())];
    const result = verify(list, checkpoints);
    assert.equal(result.ok, true);
    assert.equal(result.checked, 20);
    assert.deepEqual(result.head, { seq: 20, hash: list[19]!.hash });
    assert.equal(result.checkpoints?.checked, 2);
    assert.equal(result.checkpoints?.latest?.seq, 20);
  });

  it('chains from the genesis hash, seq from 1', () => {
    const list = records();
    assert.equal(list[0]!.seq, 1);
    assert.equal(list[0]!.prev_hash, AUDIT_GENESIS_HASH);
    assert.equal(list[1]!.prev_hash, list[0]!.hash);
  });

  it('names an edited row', () => {
    const list = records();
    list[6] = { ...list[6]!, data: { message: 'edited', nonce: 'chain' } };
    assert.deepEqual(pick(verify(list)), { ok: false, first_bad_seq: 7, problem: 'hash_mismatch', checked: 6 });
    const actor = records();
    actor[3] = { ...actor[3]!, outcome: 'denied' };
    assert.equal(verify(actor).first_bad_seq, 4);
  });

  it('names a deleted row by the missing seq', () => {
    const list = records();
    list.splice(4, 1);
    assert.deepEqual(pick(verify(list)), { ok: false, first_bad_seq: 5, problem: 'missing_seq', checked: 4 });
  });

  it('names the first of two swapped rows', () => {
    const list = records();
    const [a, b] = [list[11]!, list[14]!];
    list[11] = { ...b, seq: 12 };
    list[14] = { ...a, seq: 15 };
    assert.deepEqual(pick(verify(list)), { ok: false, first_bad_seq: 12, problem: 'prev_hash_mismatch', checked: 11 });
  });

  it('reports the earliest of several tamperings', () => {
    const list = records();
    list[15] = { ...list[15]!, action: 'other' };
    list.splice(9, 1);
    list[2] = { ...list[2]!, source: '/evil' };
    assert.equal(verify(list).first_bad_seq, 3);
  });

  it('catches a chain recomputed after an edit through the signed checkpoint', () => {
    const original = records();
    const checkpoints = [signer.sign(5, original[4]!.hash, new Date()), signer.sign(15, original[14]!.hash, new Date())];
    const forged = rechain(original.map((r) => (r.seq === 9 ? { ...r, data: { message: 'rewritten', nonce: 'chain' } } : r)));
    assert.equal(verify(forged).ok, true, 'consistent in itself');
    assert.deepEqual(pick(verify(forged, checkpoints)), { ok: false, first_bad_seq: 6, problem: 'checkpoint_mismatch', checked: 14 });
  });

  it('catches a cut-off tail through a checkpoint past the end', () => {
    const list = records();
    const checkpoints = [signer.sign(20, list[19]!.hash, new Date())];
    assert.deepEqual(pick(verify(list.slice(0, 17), checkpoints)), { ok: false, first_bad_seq: 18, problem: 'missing_seq', checked: 17 });
  });

  it('refuses checkpoints signed by another key or altered', () => {
    const list = records();
    const other = new CheckpointSigner(generateKeyPairSync('ed25519').privateKey);
    assert.equal(verify(list, [other.sign(10, list[9]!.hash, new Date())]).problem, 'checkpoint_signature_invalid');
    const altered = { ...signer.sign(10, list[9]!.hash, new Date()), seq: 11 };
    assert.deepEqual(pick(verify(list, [altered])), { ok: false, first_bad_seq: 11, problem: 'checkpoint_signature_invalid', checked: 10 });
    // a pinned public key (as `fedgate audit verify --public-key`) works the same
    assert.equal(verify(list, [signer.sign(10, list[9]!.hash, new Date())], parseCheckpointPublicKey(signer.publicKey.pem)).ok, true);
  });
});

describe('ChainVerifier with heads trusted from outside the database', () => {
  const withTrusted = (list: AuditEvent[], trusted: TrustedHead[], stored: AuditCheckpoint[] = [], requireStored = false) => {
    const verifier = new ChainVerifier(signer.publicKey, stored, undefined, { heads: trusted, requireStored });
    for (const r of list) if (!verifier.add(r)) break;
    return verifier.finish();
  };

  it('accepts a log that extends them, and says how many it checked', () => {
    const list = records();
    const result = withTrusted(list, [{ seq: 8, head_hash: list[7]!.hash }]);
    assert.equal(result.ok, true);
    assert.deepEqual(result.trusted, { checked: 1, latest_seq: 8 });
  });

  it('catches a truncated tail with no stored checkpoint left past it, naming where', () => {
    const list = records();
    const trusted = [{ seq: 8, head_hash: list[7]!.hash }, { seq: 18, head_hash: list[17]!.hash }];
    // the database's checkpoints after seq 8 were deleted too: nothing stored points past the end
    const result = withTrusted(list.slice(0, 12), trusted);
    assert.deepEqual({ ...pick(result), truncated_at: result.truncated_at }, { ok: false, first_bad_seq: 9, problem: 'truncated', checked: 12, truncated_at: 13 });
    // without a trusted head the same log looks fine: internal consistency only
    assert.equal(verify(list.slice(0, 12)).ok, true);
  });

  it('catches a rewrite with every hash recomputed, from the last head still matched', () => {
    const original = records();
    const forged = rechain(original.filter((r) => r.seq !== 12).map((r, i) => ({ ...r, seq: i + 1 })));
    const trusted = [{ seq: 10, head_hash: original[9]!.hash }, { seq: 15, head_hash: original[14]!.hash }];
    assert.deepEqual(pick(withTrusted(forged, trusted)), { ok: false, first_bad_seq: 11, problem: 'checkpoint_mismatch', checked: 14 });
  });

  it('names a trusted checkpoint the database lost (the service holds its own log to them)', () => {
    const list = records();
    const checkpoints = [signer.sign(5, list[4]!.hash, new Date()), signer.sign(10, list[9]!.hash, new Date())];
    assert.equal(withTrusted(list, checkpoints, checkpoints, true).ok, true);
    assert.deepEqual(pick(withTrusted(list, checkpoints, checkpoints.slice(0, 1), true)), { ok: false, first_bad_seq: 10, problem: 'checkpoint_missing', checked: 9 });
    // a bare seq:hash needs no stored twin when the verifier is outside
    assert.equal(withTrusted(list, [{ seq: 10, head_hash: list[9]!.hash }], []).ok, true);
  });
});

function pick(r: ReturnType<typeof verify>) {
  return { ok: r.ok, first_bad_seq: r.first_bad_seq, problem: r.problem, checked: r.checked };
}

describe('records PostgreSQL cannot hold as they are', () => {
  const poison = createCloudEvent({ type: 'fedgate.system.test.v1', source: '/fedgate/tests', data: { message: 'a \u0000 b \udc00 c', nonce: 'n' } });

  it('keep the exact record in record_json, the columns in storable form, and verify', () => {
    const { rows } = chainRows([events[0]!, poison, events[1]!], EMPTY_CHAIN);
    const row = rows[1]!;
    assert.equal(rows[0]!.recordJson, null);
    assert.ok(row.recordJson);
    assert.deepEqual(row.data, { message: 'a \ufffd b \ufffd c', nonce: 'n' });
    assert.doesNotMatch(row.recordJson, /\u0000/);
    assert.deepEqual(recordOf(row).data, poison.data);
    assert.equal(verify(rows.map(recordOf)).ok, true);
  });

  it('name an edit of record_json or of a column of such a row', () => {
    const edited = chainRows([events[0]!, poison], EMPTY_CHAIN).rows;
    edited[1]!.recordJson = edited[1]!.recordJson!.replace('a ', 'A ');
    assert.equal(verify(edited.map(recordOf)).first_bad_seq, 2);
    const column = chainRows([events[0]!, poison], EMPTY_CHAIN).rows;
    column[1]!.source = '/elsewhere';
    assert.equal(verify(column.map(recordOf)).first_bad_seq, 2);
  });
});
