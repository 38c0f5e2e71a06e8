// Tampering with the stored log behind the service's back — an edited row, a deleted row,
// two swapped rows — is named by GET /v1/integrity and by `fedgate audit verify` (which
// re-hashes the exported chain outside the service) at the first bad seq. Runs against an
// isolated audit-service with a database of its own, so the stack's log stays intact.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { createCloudEvent, type AuditEvent, type IntegrityResponse } from '@fedgate/contracts';
import { readStackFile } from '@fedgate/stack';
import { repoRoot, uniqueSuffix, waitFor } from '@fedgate/testing';
import { getJson, publishEvents, startIsolatedAuditService, systemTestEvents, testProducer, type IsolatedAuditService } from './audit-test-support';

const stack = readStackFile();
// the isolated service's background full verification interval
const VERIFY_INTERVAL_MS = 2000;

interface Verdicts {
  service: IntegrityResponse;
  cli: { status: number; local: IntegrityResponse; service: IntegrityResponse; stderr: string };
}

describe('tampering with the audit log in the database', () => {
  let iso: IsolatedAuditService;
  let db: (sql: string, params?: unknown[]) => Promise<unknown[]>;
  let closeDb: () => Promise<void>;

  function cliVerify(extra: string[] = []) {
    // the CLI's own launcher (what `npx fedgate` runs), without npx's start-up time
    const run = spawnSync(process.execPath, [path.join(repoRoot(), 'apps/cli/bin/fedgate.js'), 'audit', 'verify', '--json', '--url', iso.url, '--ca-cert', stack.ca_cert, '--api-key', stack.admin_api_key, ...extra], {
      cwd: repoRoot(),
      encoding: 'utf8',
      timeout: 120_000,
    });
    return { status: run.status ?? -1, stdout: run.stdout, stderr: run.stderr };
  }

  async function verdicts(): Promise<Verdicts> {
    // a fresh full run: a plain call may answer the last background verdict (see the caching test)
    const service = await getJson<IntegrityResponse>(stack, '/v1/integrity?full=true', stack.admin_api_key, iso.url);
    assert.equal(service.status, 200);
    const run = cliVerify();
    const parsed = JSON.parse(run.stdout || '{}') as { local: IntegrityResponse; service: IntegrityResponse };
    return { service: service.body, cli: { status: run.status, ...parsed, stderr: run.stderr } };
  }

  function assertBrokenAt(v: Verdicts, seq: number, problem: string) {
    assert.equal(v.service.ok, false);
    assert.equal(v.service.first_bad_seq, seq, `service: ${JSON.stringify({ ...v.service, public_key: undefined })}`);
    assert.equal(v.service.problem, problem);
    assert.equal(v.cli.status, 1, 'fedgate audit verify exits 1');
    assert.equal(v.cli.local.first_bad_seq, seq, `cli: ${JSON.stringify(v.cli.local)}`);
    assert.equal(v.cli.local.problem, problem);
  }

  async function assertIntact() {
    const v = await verdicts();
    assert.equal(v.service.ok, true, JSON.stringify({ ...v.service, public_key: undefined }));
    assert.equal(v.cli.status, 0, v.cli.stderr);
    assert.equal(v.cli.local.ok, true);
    assert.equal(v.cli.local.head?.seq, v.cli.local.checked);
  }

  /** A row kept exactly (as JSON of the whole row), to put back after deleting it. */
  async function saveRow(seq: number) {
    const [row] = (await db('SELECT row_to_json(a)::text AS json FROM audit_event a WHERE seq = $1', [seq])) as Array<{ json: string }>;
    return { restore: () => db('INSERT INTO audit_event SELECT * FROM json_populate_record(NULL::audit_event, $1::json)', [row!.json]) };
  }

  before(async () => {
    // a scratch log of events from now on (the stack's topics hold tens of thousands of old events)
    iso = await startIsolatedAuditService(stack, `fedgate_audit_tamper_${uniqueSuffix()}`, {
      FEDGATE_AUDIT_CHECKPOINT_INTERVAL_MS: '500',
      FEDGATE_AUDIT_CONSUMER_START: 'end',
      FEDGATE_AUDIT_VERIFY_INTERVAL_MS: String(VERIFY_INTERVAL_MS),
    });
    // tampering as the maintenance role: the trigger refuses UPDATE and DELETE of audit rows to any other
    const client = new Client({ connectionString: iso.maintenanceUrl });
    await client.connect();
    db = async (sql, params = []) => (await client.query(sql, params)).rows;
    closeDb = () => client.end();
    const producer = await testProducer(stack);
    const nonce = `tamper-${uniqueSuffix()}`;
    // published until seen: the consumer starts at the end of the topics once it has joined its group
    await waitFor('rows and a signed checkpoint in the isolated log', async () => {
      await publishEvents(producer, systemTestEvents(nonce, 10));
      const [row] = (await db('SELECT (SELECT count(*) FROM audit_event) AS rows, (SELECT count(*) FROM audit_checkpoint) AS checkpoints')) as Array<{ rows: string; checkpoints: string }>;
      return Number(row!.rows) >= 50 && Number(row!.checkpoints) >= 1;
    }, 120_000, 500);
    await producer.disconnect();
  });

  after(async () => {
    await closeDb?.();
    await iso?.stop();
  });

  it('is intact before anyone touches it', assertIntact);

  it('names an edited row', async () => {
    const [saved] = (await db('SELECT data::text AS data FROM audit_event WHERE seq = 5')) as Array<{ data: string }>;
    await db(`UPDATE audit_event SET data = data || '{"tampered": true}'::jsonb WHERE seq = 5`);
    assertBrokenAt(await verdicts(), 5, 'hash_mismatch');
    await db('UPDATE audit_event SET data = $1::jsonb WHERE seq = 5', [saved!.data]);
    // an edit of a column outside data (who did it) is caught the same way
    await db(`UPDATE audit_event SET outcome = CASE outcome WHEN 'success' THEN 'denied' ELSE 'success' END WHERE seq = 6`);
    assertBrokenAt(await verdicts(), 6, 'hash_mismatch');
    await db(`UPDATE audit_event SET outcome = CASE outcome WHEN 'success' THEN 'denied' ELSE 'success' END WHERE seq = 6`);
    await assertIntact();
  });

  it('names a deleted row', async () => {
    const saved = await saveRow(8);
    await db('DELETE FROM audit_event WHERE seq = 8');
    assertBrokenAt(await verdicts(), 8, 'missing_seq');
    await saved.restore();
    await assertIntact();
  });

  it('names the first of two swapped rows', async () => {
    const swap = async () => {
      await db('UPDATE audit_event SET seq = -11 WHERE seq = 11');
      await db('UPDATE audit_event SET seq = 11 WHERE seq = 12');
      await db('UPDATE audit_event SET seq = 12 WHERE seq = -11');
    };
    await swap();
    assertBrokenAt(await verdicts(), 11, 'prev_hash_mismatch');
    await swap();
    await assertIntact();
  });

  it('names the earliest of an edit, a deletion and a swap made together', async () => {
    const deleted = await saveRow(20);
    await db('DELETE FROM audit_event WHERE seq = 20');
    await db('UPDATE audit_event SET seq = -31 WHERE seq = 31');
    await db('UPDATE audit_event SET seq = 31 WHERE seq = 32');
    await db('UPDATE audit_event SET seq = 32 WHERE seq = -31');
    const [saved] = (await db('SELECT source FROM audit_event WHERE seq = 14')) as Array<{ source: string }>;
    await db(`UPDATE audit_event SET source = '/not/the/producer' WHERE seq = 14`);
    assertBrokenAt(await verdicts(), 14, 'hash_mismatch');
    await db('UPDATE audit_event SET source = $1 WHERE seq = 14', [saved!.source]);
    assertBrokenAt(await verdicts(), 20, 'missing_seq');
    await deleted.restore();
    assertBrokenAt(await verdicts(), 31, 'prev_hash_mismatch');
    await db('UPDATE audit_event SET seq = -31 WHERE seq = 31');
    await db('UPDATE audit_event SET seq = 31 WHERE seq = 32');
    await db('UPDATE audit_event SET seq = 32 WHERE seq = -31');
    await assertIntact();
  });

  it('stores an event PostgreSQL would refuse (U+0000, a lone surrogate) exactly, chained, without stalling its partition', async () => {
    const nonce = `poison-${uniqueSuffix()}`;
    const poison = createCloudEvent({ type: 'fedgate.system.test.v1', source: '/fedgate/tests/audit', data: { message: 'nul \u0000 and lone \ud800 here', nonce } });
    const after = systemTestEvents(nonce, 3);
    const producer = await testProducer(stack);
    try {
      await publishEvents(producer, [poison, ...after]);
    } finally {
      await producer.disconnect();
    }
    // the events after it on the same partition arrive: ingest did not stall on it
    for (const event of after) {
      await waitFor(`event ${event.id} stored`, async () => (await getJson(stack, `/v1/events/${event.id}`, stack.admin_api_key, iso.url)).status === 200, 30_000, 200);
    }
    const stored = await getJson<AuditEvent>(stack, `/v1/events/${poison.id}`, stack.admin_api_key, iso.url);
    assert.equal(stored.status, 200);
    assert.deepEqual(stored.body.data, poison.data, 'served exactly as published');
    const [row] = (await db('SELECT data->>$2 AS message, record_json IS NOT NULL AS raw FROM audit_event WHERE id = $1', [poison.id, 'message'])) as Array<{ message: string; raw: boolean }>;
    assert.equal(row!.raw, true);
    assert.equal(row!.message, 'nul \ufffd and lone \ufffd here', 'the queryable columns hold its storable form');
    await assertIntact();
    // the exact record is covered by the chain like any column
    await db(`UPDATE audit_event SET record_json = replace(record_json, 'lone', 'alone') WHERE id = $1`, [poison.id]);
    const edited = await getJson<IntegrityResponse>(stack, '/v1/integrity?full=true', stack.admin_api_key, iso.url);
    assert.equal(edited.body.first_bad_seq, stored.body.seq);
    assert.equal(edited.body.problem, 'hash_mismatch');
    await db(`UPDATE audit_event SET record_json = replace(record_json, 'alone', 'lone') WHERE id = $1`, [poison.id]);
    await assertIntact();
  });

  it('answers from the background verification, which finds an edit of an old row within its interval', async () => {
    const plain = () => getJson<IntegrityResponse & { checked_at: string }>(stack, '/v1/integrity', stack.admin_api_key, iso.url);
    const before = await plain();
    assert.equal(before.status, 200);
    assert.equal(before.body.ok, true);
    assert.ok(Date.parse(before.body.checked_at) <= Date.now());
    const [saved] = (await db('SELECT action FROM audit_event WHERE seq = 3')) as Array<{ action: string }>;
    const editedAt = Date.now();
    await db(`UPDATE audit_event SET action = 'rewritten' WHERE seq = 3`);
    try {
      // no full=true: the next background run (a full one) must find it
      const found = await waitFor('the background verification to name seq 3', async () => {
        const answer = await plain();
        return answer.body.ok === false ? answer.body : undefined;
      }, VERIFY_INTERVAL_MS * 5, 200);
      assert.equal(found.first_bad_seq, 3);
      assert.equal(found.problem, 'hash_mismatch');
      assert.ok(Date.parse(found.checked_at) >= editedAt - 1000, 'found by a run that started after the edit');
    } finally {
      await db('UPDATE audit_event SET action = $1 WHERE seq = 3', [saved!.action]);
    }
    await assertIntact();
    assert.equal((await getJson(stack, '/v1/integrity?full=maybe', stack.admin_api_key, iso.url)).status, 400);
  });

  it('refuses checkpoints when the pinned public key is not the service key', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fedgate-pin-'));
    try {
      const file = path.join(dir, 'other.pem');
      writeFileSync(file, generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }));
      const run = cliVerify(['--public-key', file]);
      assert.equal(run.status, 1);
      assert.match(run.stderr, /untrusted_key/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
