import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { appendFileSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { AUDIT_CHECKPOINT_GENESIS_HASH, auditCheckpointHash, createCloudEvent, type AuditCheckpoint } from '@fedgate/contracts';
import type { AuditEventStore } from './audit-event.store';
import { EMPTY_CHAIN, chainRows, type AuditRow } from './audit-record';
import { CheckpointSigner } from './checkpoint-key';
import { CheckpointFile, CheckpointLogError, ExternalCheckpoints, type CheckpointTopic } from './checkpoint-log';
import { SignCheckpoint } from './sign-checkpoint.use-case';
import { VerifyIntegrity } from './verify-integrity.use-case';

const signer = new CheckpointSigner(generateKeyPairSync('ed25519').privateKey);
const eventsFor = (actor: string, from: number, count: number) =>
  Array.from({ length: count }, (_, i) =>
    createCloudEvent({
      type: 'fedgate.token.verified.v1',
      source: '/fedgate/token-service',
      data: { account: { flwr_aid: actor, account_name: actor }, access_token_hash: 'a'.repeat(64), scope: 'openid', expires_at: 1_900_000_000 + from + i, method: 'jwt', cached: false },
    }),
  );

/** The audit tables in memory, with every read SignCheckpoint and VerifyIntegrity make. */
class FakeStore {
  rows: AuditRow[] = [];
  stored: AuditCheckpoint[] = [];

  append(actor: string, count: number) {
    const last = this.rows.at(-1);
    this.rows.push(...chainRows(eventsFor(actor, this.rows.length, count), last ? { seq: last.seq, hash: last.hash } : EMPTY_CHAIN).rows);
  }
  async head() {
    const last = this.rows.at(-1);
    return last ? { seq: last.seq, hash: last.hash } : null;
  }
  async hashesAt(seqs: readonly number[]) {
    return new Map(this.rows.filter((r) => seqs.includes(Number(r.seq))).map((r) => [Number(r.seq), r.hash]));
  }
  async linksAfter(after: number, limit: number) {
    return this.rows.filter((r) => Number(r.seq) > after).slice(0, limit).map((r) => ({ seq: Number(r.seq), hash: r.hash, prevHash: r.prevHash }));
  }
  async rowsAfter(after: bigint, limit: number) {
    return this.rows.filter((r) => r.seq > after).slice(0, limit);
  }
  async addCheckpoint(c: AuditCheckpoint) {
    if (!this.stored.some((s) => s.seq === c.seq)) this.stored.push(c);
  }
  async checkpoints() {
    return [...this.stored].sort((a, b) => a.seq - b.seq);
  }
  async checkpointsAt(seqs: readonly number[]) {
    return this.stored.filter((c) => seqs.includes(c.seq));
  }
  async lastCheckpointSeq() {
    return BigInt(Math.max(0, ...this.stored.map((c) => c.seq)));
  }
  async checkpointsAfter(seq: number) {
    return this.stored.filter((c) => c.seq > seq).sort((a, b) => a.seq - b.seq);
  }
  /** What a database writer without the key does: rows after `keep` replaced by `actor`'s, every hash recomputed. */
  rewriteAfter(keep: number, actor: string, count: number) {
    this.rows = this.rows.slice(0, keep);
    this.append(actor, count);
  }
}

class FakeTopic implements CheckpointTopic {
  messages: AuditCheckpoint[] = [];
  down = false;
  async readAll(keyId: string) {
    if (this.down) throw new Error('kafka down');
    return this.messages.filter((m) => m.key_id === keyId);
  }
  async publish(checkpoints: readonly AuditCheckpoint[]) {
    if (this.down) throw new Error('kafka down');
    this.messages.push(...checkpoints);
  }
}

describe('SignCheckpoint', () => {
  let dir: string;
  let store: FakeStore;
  let topic: FakeTopic;
  let file: CheckpointFile;

  const build = () => {
    const external = new ExternalCheckpoints(file, topic, signer.publicKey);
    const verify = new VerifyIntegrity(store as unknown as AuditEventStore, signer.publicKey);
    const sign = new SignCheckpoint(store as unknown as AuditEventStore, signer, external, () => verify.execute({ full: true }));
    return { external, sign };
  };

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'fedgate-sign-'));
    store = new FakeStore();
    topic = new FakeTopic();
    file = CheckpointFile.besideKey(path.join(dir, 'key.pem'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('signs checkpoints chained to each other and keeps them in the database, the file and the topic', async () => {
    const { sign } = build();
    store.append('alice', 10);
    const first = await sign.execute();
    assert.equal(first.kind, 'signed');
    store.append('bob', 5);
    const second = await sign.execute();
    assert.equal(second.kind, 'signed');
    assert.equal((await sign.execute()).kind, 'unchanged');
    const [a, b] = [(first as { checkpoint: AuditCheckpoint }).checkpoint, (second as { checkpoint: AuditCheckpoint }).checkpoint];
    assert.equal(a.prev_checkpoint_hash, AUDIT_CHECKPOINT_GENESIS_HASH);
    assert.equal(b.prev_checkpoint_hash, auditCheckpointHash(a));
    assert.deepEqual(file.read(), [a, b]);
    assert.deepEqual(topic.messages, [a, b]);
    assert.deepEqual(await store.checkpoints(), [a, b]);
  });

  it('refuses a tail truncated and re-hashed, naming the first missing seq, and signs again once restored', async () => {
    const { sign } = build();
    store.append('alice', 10);
    await sign.execute();
    store.append('alice', 10);
    await sign.execute();
    const genuine = store.rows;
    store.rows = store.rows.slice(0, 14);
    store.stored = store.stored.filter((c) => c.seq <= 10);
    const refused = await sign.execute();
    assert.equal(refused.kind, 'refused');
    assert.deepEqual(refused.kind === 'refused' && { ...refused.breach, first: refused.first }, {
      problem: 'truncated',
      first_bad_seq: 11,
      truncated_at: 15,
      checkpoint: { seq: 20, head_hash: genuine[19]!.hash },
      head: { seq: 14, hash: genuine[13]!.hash },
      first: true,
    });
    // grown past the signed seq again with forged rows, all hashes recomputed: still refused
    store.append('mallory', 10);
    const forged = await sign.execute();
    assert.equal(forged.kind === 'refused' && forged.breach.problem, 'checkpoint_mismatch');
    assert.equal(forged.kind === 'refused' && forged.breach.first_bad_seq, 11, 'the seq after the last checkpoint the rows still match');
    store.rows = genuine;
    store.stored = [];
    // restored rows, but the database lost the checkpoints: named at the first one gone
    const gone = await sign.execute();
    assert.equal(gone.kind === 'refused' && gone.breach.problem, 'checkpoint_missing');
    assert.equal(gone.kind === 'refused' && gone.breach.first_bad_seq, 20);
    for (const c of file.read()!) await store.addCheckpoint(c);
    assert.equal((await sign.execute()).kind, 'unchanged');
    assert.equal(sign.currentBreach, null);
  });

  it("refuses a rewrite of one actor's rows with every hash recomputed", async () => {
    const { sign } = build();
    store.append('alice', 5);
    await sign.execute();
    store.append('bob', 5);
    store.append('alice', 5);
    await sign.execute();
    // bob's rows (6-10) removed and the rest re-chained: shorter, consistent in itself
    store.rewriteAfter(5, 'alice', 5);
    const shorter = await sign.execute();
    assert.deepEqual(shorter.kind === 'refused' && [shorter.breach.problem, shorter.breach.first_bad_seq, shorter.breach.truncated_at], ['truncated', 6, 11]);
    // padded back to the signed length with more forged rows
    store.rewriteAfter(5, 'alice', 10);
    const refused = await sign.execute();
    assert.equal(refused.kind, 'refused');
    assert.equal(refused.kind === 'refused' && refused.breach.problem, 'checkpoint_mismatch');
    assert.equal(refused.kind === 'refused' && refused.breach.first_bad_seq, 6);
    // reported once: the caller marks it, the next refusal of the same breach is not first
    if (refused.kind === 'refused') sign.markReported(refused.breach);
    const again = await sign.execute();
    assert.equal(again.kind === 'refused' && again.first, false);
  });

  it('signs its first checkpoint only over a chain that verifies in full', async () => {
    const { sign } = build();
    store.append('alice', 5);
    store.rows[2] = { ...store.rows[2]!, action: 'edited' };
    const refused = await sign.execute();
    assert.equal(refused.kind === 'refused' && refused.breach.problem, 'hash_mismatch');
    assert.equal(refused.kind === 'refused' && refused.breach.first_bad_seq, 3);
    assert.equal(file.read(), null, 'nothing signed, no file written');
  });

  it('recovers a missing file from the topic, and publishes what the topic missed while Kafka was down', async () => {
    store.append('alice', 5);
    await build().sign.execute();
    topic.down = true;
    store.append('alice', 5);
    const { external, sign } = build();
    assert.equal((await sign.execute()).kind, 'signed', 'the file alone is enough to sign on');
    assert.equal(external.unpublished, 2, 'the first one is on the topic, unchecked while Kafka is down; both wait to be published');
    topic.down = false;
    await external.sync();
    assert.equal(topic.messages.length, 2);
    unlinkSync(file.file);
    const recovered = build();
    store.append('alice', 1);
    assert.equal((await recovered.sign.execute()).kind, 'signed');
    assert.deepEqual(file.read()?.map((c) => c.seq), [5, 10, 11]);
  });

  it('does not sign while neither the file nor the topic can be read, and refuses a file that is not its chain', async () => {
    store.append('alice', 5);
    topic.down = true;
    assert.equal((await build().sign.execute()).kind, 'unavailable');
    topic.down = false;
    const other = new CheckpointSigner(generateKeyPairSync('ed25519').privateKey);
    writeFileSync(file.file, `${JSON.stringify(other.sign(5, store.rows[4]!.hash, new Date(), AUDIT_CHECKPOINT_GENESIS_HASH))}\n`);
    const { external, sign } = build();
    assert.equal((await sign.execute()).kind, 'unavailable');
    await assert.rejects(external.sync(), CheckpointLogError);
  });

  it('drops a line a crash cut off mid-append, and waits past checkpoints signed before the file existed', async () => {
    store.append('alice', 5);
    // a log from before checkpoints left the database: its own checkpoint at the head
    await store.addCheckpoint(signer.sign(5, store.rows[4]!.hash, new Date()));
    const { sign } = build();
    assert.equal((await sign.execute()).kind, 'unchanged', 'no second checkpoint at seq 5');
    store.append('alice', 1);
    assert.equal((await sign.execute()).kind, 'signed');
    appendFileSync(file.file, '{"seq":7,"head_ha');
    assert.deepEqual(file.read()?.map((c) => c.seq), [6]);
    store.append('alice', 1);
    assert.equal((await build().sign.execute()).kind, 'signed');
    assert.deepEqual(file.read()?.map((c) => c.seq), [6, 7]);
  });

  it('keeps a checkpoint the database got before a crash that came before the file', async () => {
    const { sign } = build();
    store.append('alice', 5);
    await sign.execute();
    store.append('alice', 5);
    const last = file.read()!.at(-1)!;
    await store.addCheckpoint(signer.sign(10, store.rows[9]!.hash, new Date(), auditCheckpointHash(last)));
    assert.equal((await sign.execute()).kind, 'unchanged');
    assert.deepEqual(file.read()?.map((c) => c.seq), [5, 10]);
  });
});
