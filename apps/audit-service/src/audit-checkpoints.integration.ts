// Evidence that survives a database compromise (issue 17). A writer of the database — here the
// maintenance role, the only one the audit tables' trigger lets change rows — cuts the tail off,
// rewrites one actor's rows, or deletes checkpoints, recomputing every hash so the chain is
// consistent in itself. Each is named by GET /v1/integrity?full=true and by `fedgate audit verify
// --trusted-checkpoint` holding a checkpoint saved earlier; the service refuses to sign over it and
// sends fedgate.audit.integrity_failed.v1 on Kafka. Runs against an isolated audit-service (own
// database, key, checkpoint file; the stack's Kafka), so the stack's log stays intact.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { Client } from 'pg';
import { AUDIT_CHECKPOINT_TOPIC, TOPICS, auditEventHash, createCloudEvent, type AuditCheckpoint, type AuditCheckpointListResponse, type FedgateEvent, type IntegrityResponse } from '@fedgate/contracts';
import { recordOf, type AuditRow } from '@fedgate/audit';
import { readStackFile } from '@fedgate/stack';
import { repoRoot, uniqueSuffix, waitFor } from '@fedgate/testing';
import { fetchGet, getJson, publishEvents, startIsolatedAuditService, testProducer, type IsolatedAuditService } from './audit-test-support';

const stack = readStackFile();
const CHECKPOINT_INTERVAL_MS = 500;

interface CliVerdict {
  status: number;
  proves: string;
  local: IntegrityResponse;
  service: IntegrityResponse;
  stderr: string;
}

const ROW_COLUMNS = `seq::text AS seq, id, time, type, actor_flwr_aid AS "actorFlwrAid", actor_account_name AS "actorAccountName", object, action, outcome,
  decision_id AS "decisionId", source, subject, data, hash, prev_hash AS "prevHash", record_json AS "recordJson"`;

describe('audit evidence outside the database', () => {
  let iso: IsolatedAuditService;
  let db: (sql: string, params?: unknown[]) => Promise<any[]>;
  let closeDb: () => Promise<void>;
  let alerts: Consumer;
  const alertEvents: FedgateEvent[] = [];
  let dir: string;
  const run = uniqueSuffix();
  const bob = `bob-${run}`;

  const fedgate = (args: string[]) => {
    const result = spawnSync(process.execPath, [path.join(repoRoot(), 'apps/cli/bin/fedgate.js'), ...args, '--url', iso.url, '--ca-cert', stack.ca_cert, '--api-key', stack.admin_api_key], {
      cwd: repoRoot(),
      encoding: 'utf8',
      timeout: 120_000,
    });
    return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
  };

  function cliVerify(trusted?: string): CliVerdict {
    const result = fedgate(['audit', 'verify', '--json', ...(trusted ? ['--trusted-checkpoint', trusted] : [])]);
    return { status: result.status, stderr: result.stderr, ...(JSON.parse(result.stdout || '{}') as Omit<CliVerdict, 'status' | 'stderr'>) };
  }

  const signed = async () => (await getJson<AuditCheckpointListResponse>(stack, '/v1/integrity/checkpoints', stack.admin_api_key, iso.url)).body.checkpoints;
  const rowCount = async () => Number((await db('SELECT count(*) AS n FROM audit_event'))[0].n);
  const refusals = async () => {
    const text = await (await fetchGet(`${iso.url}/metrics`)).text();
    return [...text.matchAll(/^fedgate_audit_checkpoint_refusals_total\{[^}]*\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
  };

  /** Publishes decisions by `actor` and waits until a checkpoint of the head covers them. */
  async function round(actor: string, count: number): Promise<AuditCheckpoint> {
    const producer = await testProducer(stack);
    try {
        const target = (await rowCount()) + count;
        await publishEvents(
          producer,
          Array.from({ length: count }, () =>
            createCloudEvent({ type: 'fedgate.authz.decision.v1', source: '/fedgate/tests/audit', data: { decision_id: randomUUID(), flwr_aid: actor, relation: 'can_view', object: `run:${run}`, allowed: true, endpoint: 'check', cached: false } }),
          ),
        );
        // a late warm-up event may land too: the checkpoint of the head once these are in
        return await waitFor(`a checkpoint of the head at seq ${target} or later`, async () => {
          const head = await rowCount();
          return head >= target && (await signed()).find((c) => c.seq === head);
        }, 60_000, 100);
    } finally {
      await producer.disconnect();
    }
  }

  async function rows(afterSeq: number): Promise<AuditRow[]> {
    return (await db(`SELECT ${ROW_COLUMNS} FROM audit_event WHERE seq > $1 ORDER BY seq`, [afterSeq])).map((r) => ({ ...r, seq: BigInt(r.seq) }));
  }

  /** What a database writer without the key does: the rows after `keep` replaced by `forged`, every seq, prev_hash and hash recomputed. */
  async function forgeAfter(keep: number, forged: AuditRow[]) {
    let prev = (await db('SELECT hash FROM audit_event WHERE seq = $1', [keep]))[0].hash as string;
    await db('DELETE FROM audit_event WHERE seq > $1', [keep]);
    for (const [i, original] of forged.entries()) {
      const row: AuditRow = { ...original, seq: BigInt(keep + i + 1), prevHash: prev, hash: '' };
      const { hash: _unset, ...record } = recordOf(row);
      row.hash = auditEventHash(record);
      prev = row.hash;
      await db(
        `INSERT INTO audit_event (seq, id, time, type, actor_flwr_aid, actor_account_name, object, action, outcome, decision_id, source, subject, data, hash, prev_hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb, $14, $15)`,
        [row.seq.toString(), row.id, row.time, row.type, row.actorFlwrAid, row.actorAccountName, row.object, row.action, row.outcome, row.decisionId, row.source, row.subject, JSON.stringify(row.data), row.hash, row.prevHash],
      );
    }
  }

  /** Keeps the rows and checkpoints after `seq` exactly, to put the genuine log back afterwards. */
  async function saveAfter(seq: number) {
    const savedRows = await db('SELECT row_to_json(a)::text AS json FROM audit_event a WHERE seq > $1 ORDER BY seq', [seq]);
    const savedCheckpoints = await db('SELECT row_to_json(c)::text AS json FROM audit_checkpoint c WHERE seq > $1', [seq]);
    return async () => {
      await db('DELETE FROM audit_event WHERE seq > $1', [seq]);
      await db('DELETE FROM audit_checkpoint WHERE seq > $1', [seq]);
      for (const { json } of savedRows) await db('INSERT INTO audit_event SELECT * FROM json_populate_record(NULL::audit_event, $1::json)', [json]);
      for (const { json } of savedCheckpoints) await db('INSERT INTO audit_checkpoint SELECT * FROM json_populate_record(NULL::audit_checkpoint, $1::json)', [json]);
    };
  }

  /**
   * The service refuses to sign: its refusal counter grows by two attempts while nothing new is
   * signed (not in the checkpoint file, not in the database), although the head moved past the
   * database's last checkpoint.
   */
  async function assertRefusesToSign(lastSigned: AuditCheckpoint) {
    const before = await refusals();
    await waitFor('two refused signing attempts', async () => (await refusals()) >= before + 2, 30_000, 100);
    assert.deepEqual((await signed()).at(-1), lastSigned, 'nothing signed after the tampering');
    const [{ seq }] = await db('SELECT coalesce(max(seq), 0)::int AS seq FROM audit_checkpoint');
    assert.ok(seq <= lastSigned.seq, `no checkpoint past seq ${lastSigned.seq} in the database (found ${seq})`);
  }

  async function assertAlert(problem: string, firstBadSeq: number, lastSigned: AuditCheckpoint) {
    const alert = await waitFor(`the ${problem} alert on ${TOPICS.audit}`, () =>
      alertEvents.map((e) => (e.type === 'fedgate.audit.integrity_failed.v1' ? e.data : null)).find((d) => d?.key_id === lastSigned.key_id && d.checkpoint.head_hash === lastSigned.head_hash && d.problem === problem),
    30_000, 100);
    assert.equal(alert?.first_bad_seq, firstBadSeq);
    assert.equal(alert?.checkpoint.seq, lastSigned.seq);
  }

  async function assertIntactAgain() {
    await waitFor('the service to sign again', async () => (await getJson<IntegrityResponse>(stack, '/v1/integrity?full=true', stack.admin_api_key, iso.url)).body.ok, 30_000, 200);
    const verdict = cliVerify(path.join(dir, 'trusted.json'));
    assert.equal(verdict.status, 0, verdict.stderr);
    assert.equal(verdict.local.ok, true);
  }

  before(async () => {
    iso = await startIsolatedAuditService(stack, `fedgate_audit_evidence_${run}`, {
      FEDGATE_AUDIT_CHECKPOINT_INTERVAL_MS: String(CHECKPOINT_INTERVAL_MS),
      FEDGATE_AUDIT_CONSUMER_START: 'end',
      // not its own alerts: a forged head must not grow while the test looks at it
      FEDGATE_AUDIT_TOPICS: [TOPICS.authz, TOPICS.system].join(','),
    });
    const client = new Client({ connectionString: iso.maintenanceUrl });
    await client.connect();
    db = async (sql, params = []) => (await client.query(sql, params)).rows;
    closeDb = () => client.end();
    dir = mkdtempSync(path.join(tmpdir(), 'fedgate-evidence-'));
    alerts = new Kafka({ clientId: `audit-alerts-${run}`, brokers: stack.kafka.brokers, sasl: stack.kafka.sasl, logLevel: logLevel.NOTHING }).consumer({ groupId: `audit-alerts-${run}` });
    await alerts.connect();
    await alerts.subscribe({ topic: TOPICS.audit, fromBeginning: true });
    await alerts.run({ eachMessage: async ({ message }) => void alertEvents.push(JSON.parse(message.value!.toString()) as FedgateEvent) });
    // published until the consumer, starting at the end of the topics, has joined and stores them
    await waitFor('the isolated log to store events', async () => {
      const producer = await testProducer(stack);
      await publishEvents(producer, [createCloudEvent({ type: 'fedgate.system.test.v1', source: '/fedgate/tests/audit', data: { message: 'warm-up', nonce: run } })]);
      await producer.disconnect();
      return (await rowCount()) > 0;
    }, 120_000, 500);
    await waitFor('the first checkpoint', async () => (await signed()).length > 0, 30_000, 100);
  });

  after(async () => {
    await alerts?.disconnect();
    await closeDb?.();
    await iso?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('keeps chained checkpoints in a file and on a topic that never deletes, recovers the file from the topic, and saves them for an auditor', async () => {
    for (const actor of ['alice', 'alice']) await round(actor, 10);
    const before = await signed();
    const file = readFileSync(iso.checkpointFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as AuditCheckpoint);
    assert.deepEqual(file, before, 'GET /v1/integrity/checkpoints serves the checkpoint file');
    assert.equal(statSync(iso.checkpointFile).mode & 0o777, 0o600);
    const admin = new Kafka({ clientId: `audit-admin-${run}`, brokers: stack.kafka.brokers, sasl: stack.kafka.sasl, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
        const [config] = (await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: 2, name: AUDIT_CHECKPOINT_TOPIC }] })).resources;
        assert.equal(config?.configEntries.find((e) => e.configName === 'retention.ms')?.configValue, '-1', 'the checkpoint topic never deletes');
    } finally {
      await admin.disconnect();
    }
    // the file is lost: at start the service rebuilds it from the topic
    rmSync(iso.checkpointFile);
    await iso.restart();
    // (a connection kept alive to the old process fails once: retried)
    const recovered = await waitFor('the checkpoints recovered from the topic', async () => {
      const answer = await getJson<AuditCheckpointListResponse>(stack, '/v1/integrity/checkpoints', stack.admin_api_key, iso.url);
      return answer.status === 200 && answer.body.checkpoints;
    }, 60_000, 200);
    assert.deepEqual(recovered.slice(0, before.length), before);
    assert.deepEqual(readFileSync(iso.checkpointFile, 'utf8').trim().split('\n').slice(0, before.length).map((l) => JSON.parse(l)), before);
    // an auditor saves them; verify without one says what it cannot prove
    const saved = fedgate(['audit', 'checkpoints', '--out', path.join(dir, 'trusted.json')]);
    assert.equal(saved.status, 0, saved.stderr);
    assert.equal(statSync(path.join(dir, 'trusted.json')).mode & 0o777, 0o600);
    assert.match(saved.stderr, /saved \d+ checkpoint\(s\)/);
    const plain = cliVerify();
    assert.equal(plain.status, 0, plain.stderr);
    assert.equal(plain.proves, 'internal_consistency_only');
    assert.match(plain.stderr, /proves only internal consistency/);
    const trusted = cliVerify(path.join(dir, 'trusted.json'));
    assert.equal(trusted.status, 0, trusted.stderr);
    assert.equal(trusted.proves, 'extends_trusted_checkpoint');
    assert.equal(trusted.local.trusted?.latest_seq, (await signed()).at(-1)!.seq);
  });

  it('names a tail truncated and re-hashed, and refuses to sign over it', async () => {
    const k = await round('alice', 10);
    const last = await round('alice', 10);
    const keep = fedgate(['audit', 'checkpoints', '--out', path.join(dir, 'trusted.json')]);
    assert.equal(keep.status, 0, keep.stderr);
    const restore = await saveAfter(k.seq);
    // the tail after k cut off, its checkpoints deleted, three forged rows chained on in its place
    const forged = (await rows(k.seq)).slice(0, 3).map((r) => ({ ...r, id: randomUUID(), outcome: 'denied' }));
    try {
      await db('DELETE FROM audit_checkpoint WHERE seq > $1', [k.seq]);
      await forgeAfter(k.seq, forged);
      const service = await getJson<IntegrityResponse>(stack, '/v1/integrity?full=true', stack.admin_api_key, iso.url);
      assert.deepEqual([service.body.ok, service.body.problem, service.body.first_bad_seq, service.body.truncated_at], [false, 'truncated', k.seq + 1, k.seq + 4]);
      for (const trusted of [path.join(dir, 'trusted.json'), `${last.seq}:${last.head_hash}`]) {
        const cli = cliVerify(trusted);
        assert.equal(cli.status, 1);
        assert.deepEqual([cli.local.ok, cli.local.problem, cli.local.first_bad_seq, cli.local.truncated_at], [false, 'truncated', k.seq + 1, k.seq + 4], JSON.stringify(cli.local));
      }
      await assertRefusesToSign(last);
      await assertAlert('truncated', k.seq + 1, last);
      const plain = await getJson<IntegrityResponse>(stack, '/v1/integrity', stack.admin_api_key, iso.url);
      assert.equal(plain.body.ok, false, 'a plain call reports the refusal too');
    } finally {
      // the genuine log back, whatever failed: the next test starts from it
      await restore();
    }
    await assertIntactAgain();
  });

  it("names a rewrite of one actor's rows with every hash recomputed, and refuses to sign over it", async () => {
    const k = await round('alice', 10);
    await round(bob, 10);
    const last = await round('alice', 10);
    assert.equal(fedgate(['audit', 'checkpoints', '--out', path.join(dir, 'trusted.json')]).status, 0);
    const restore = await saveAfter(k.seq);
    // bob's decisions become someone else's; the checkpoints that would betray it are deleted
    try {
      const rewritten = (await rows(k.seq)).map((r) => (r.actorFlwrAid === bob ? { ...r, actorFlwrAid: 'mallory', data: { ...(r.data as object), flwr_aid: 'mallory' } } : r));
      await db('DELETE FROM audit_checkpoint WHERE seq > $1', [k.seq]);
      await forgeAfter(k.seq, rewritten);
      assert.equal((await db('SELECT count(*)::int AS n FROM audit_event WHERE actor_flwr_aid = $1', [bob]))[0].n, 0);
      const service = await getJson<IntegrityResponse>(stack, '/v1/integrity?full=true', stack.admin_api_key, iso.url);
      assert.deepEqual([service.body.ok, service.body.problem, service.body.first_bad_seq], [false, 'checkpoint_mismatch', k.seq + 1]);
      const cli = cliVerify(path.join(dir, 'trusted.json'));
      assert.equal(cli.status, 1);
      assert.deepEqual([cli.local.ok, cli.local.problem, cli.local.first_bad_seq], [false, 'checkpoint_mismatch', k.seq + 1], JSON.stringify(cli.local));
      await assertRefusesToSign(last);
      await assertAlert('checkpoint_mismatch', k.seq + 1, last);
    } finally {
      await restore();
    }
    await assertIntactAgain();
  });

  it('names checkpoints deleted from the database, and refuses to sign until they are back', async () => {
    const k = await round('alice', 10);
    const gone = await round('alice', 10);
    const restore = await saveAfter(k.seq);
    try {
      await db('DELETE FROM audit_checkpoint WHERE seq > $1', [k.seq]);
      // new events arrive: the head moves past the database's last checkpoint
      const producer = await testProducer(stack);
      await publishEvents(producer, [createCloudEvent({ type: 'fedgate.system.test.v1', source: '/fedgate/tests/audit', data: { message: 'after', nonce: run } })]);
      await producer.disconnect();
      await waitFor('the new event stored', async () => (await rowCount()) > gone.seq, 30_000, 100);
      const service = await getJson<IntegrityResponse>(stack, '/v1/integrity?full=true', stack.admin_api_key, iso.url);
      assert.deepEqual([service.body.ok, service.body.problem, service.body.first_bad_seq], [false, 'checkpoint_missing', gone.seq]);
      // verify outside: the log still extends the checkpoints kept outside the database (served
      // from the file), so its own verdict holds; it exits 1 on the service's, which names the seq
      const cli = cliVerify(path.join(dir, 'trusted.json'));
      assert.equal(cli.status, 1);
      assert.equal(cli.local.ok, true);
      assert.deepEqual([cli.service.problem, cli.service.first_bad_seq], ['checkpoint_missing', gone.seq]);
      await assertRefusesToSign(gone);
      await assertAlert('checkpoint_missing', gone.seq, gone);
    } finally {
      await restore();
    }
    await assertIntactAgain();
  });

  it('keeps audit rows insert-only for the service role and the owner, whatever they try', async () => {
    const asAudit = new Client({ connectionString: iso.serviceDatabaseUrl });
    const asOwner = new Client({ connectionString: iso.databaseUrl });
    await asAudit.connect();
    await asOwner.connect();
    try {
        const before = await rowCount();
        for (const [who, client] of [['fedgate_audit', asAudit], ['the owner', asOwner]] as const) {
          for (const sql of ['DELETE FROM audit_event', "UPDATE audit_event SET action = 'x'", 'TRUNCATE audit_event', 'DELETE FROM audit_checkpoint', 'UPDATE audit_checkpoint SET signature = $$x$$']) {
            await assert.rejects(client.query(sql), (err: { code?: string; message: string }) => err.code === '42501', `${who}: ${sql}`);
          }
        }
        assert.equal(await rowCount(), before, 'nothing changed');
    } finally {
      await asAudit.end();
      await asOwner.end();
    }
  });
});
