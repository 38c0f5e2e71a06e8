// Kill -9 of the audit service in the middle of ingesting 10,000 events, then a restart by the
// stack's own script: every event is stored exactly once, the chain stays valid, and the log
// has caught up at most 5 s after the dead instance's consumer session expired. That expiry,
// not the restart, is when the new instance gets the partitions (kafkajs has no static
// membership): 6 s after the kill (FEDGATE_AUDIT_SESSION_TIMEOUT_MS's default), however fast
// the restart was.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { IntegrityResponse } from '@fedgate/contracts';
import { auditServiceConfigSchema } from '@fedgate/service-config';
import { findStackFile, readStackFile } from '@fedgate/stack';
import { TOPICS } from '@fedgate/contracts';
import { processAlive, runProjectScript, stackPid, uniqueSuffix, waitFor, withPg } from '@fedgate/testing';
import { getJson, publishEvents, systemTestEvents, testAdmin, testProducer } from './audit-test-support';

const stack = readStackFile();
const TOTAL = 10_000;
const CHUNK = 500;
// the audit service's consumer group (FEDGATE_AUDIT_CONSUMER_GROUP's default)
const AUDIT_GROUP = 'audit-service';
// the session the stack's audit-service runs with: FEDGATE_AUDIT_SESSION_TIMEOUT_MS's default (the stack does not set it)
const SESSION_TIMEOUT_MS = auditServiceConfigSchema.shape.FEDGATE_AUDIT_SESSION_TIMEOUT_MS.parse(undefined);

/** Whether the audit consumer group has committed every offset of the system topic: nothing is left to redeliver. */
async function committedToTheEnd(): Promise<boolean> {
  const admin = await testAdmin(stack);
  try {
    const ends = await admin.fetchTopicOffsets(TOPICS.system);
    const [committed] = await admin.fetchOffsets({ groupId: AUDIT_GROUP, topics: [TOPICS.system] });
    return ends.every((end) => committed?.partitions.find((p) => p.partition === end.partition)?.offset === end.offset);
  } finally {
    await admin.disconnect();
  }
}

async function stored(subject: string): Promise<{ rows: number; ids: number }> {
  return withPg(stack.postgres.url, async (c) => {
    const { rows } = await c.query<{ rows: string; ids: string }>('SELECT count(*) AS rows, count(DISTINCT id) AS ids FROM audit_event WHERE subject = $1', [subject]);
    return { rows: Number(rows[0]!.rows), ids: Number(rows[0]!.ids) };
  });
}

describe('audit-service killed during ingest', () => {
  after(() => {
    // whatever happened, leave the stack with its audit service running
    const start = runProjectScript('scripts/infra/services.sh', ['start']);
    assert.equal(start.status, 0, start.stderr);
  });

  it("stores exactly 10,000 rows after kill -9 and restart, chain valid, caught up within 5 s of the dead instance's session expiring", { timeout: 240_000 }, async (t) => {
    const nonce = `crash-${uniqueSuffix()}`;
    const subject = `system:${nonce}`;
    const events = systemTestEvents(nonce, TOTAL);
    const producer = await testProducer(stack);
    try {
      // published in chunks, each once the previous one is stored, so the kill lands while
      // ingest is busy; after the kill the rest goes at once
      let killed = false;
      const publishing = (async () => {
        for (let i = 0; i < TOTAL; i += CHUNK) {
          await publishEvents(producer, events.slice(i, i + CHUNK));
          if (!killed) await waitFor(`chunk ${i / CHUNK + 1} stored`, async () => killed || (await stored(subject)).rows >= i + CHUNK, 60_000, 20);
        }
      })();
      await waitFor('ingest to be under way', async () => (await stored(subject)).rows >= 1000, 60_000, 20);
      const pid = stackPid(findStackFile(), 'audit-service');
      process.kill(pid, 'SIGKILL');
      const killedAt = Date.now();
      killed = true;
      await waitFor('the audit service to be dead', () => !processAlive(pid), 10_000, 20);
      const atKill = await stored(subject);
      t.diagnostic(`rows when killed: ${atKill.rows} of ${TOTAL}`);
      assert.ok(atKill.rows < TOTAL, 'the kill happened mid-ingest');
      await publishing;

      const start = runProjectScript('scripts/infra/services.sh', ['start']);
      assert.equal(start.status, 0, start.stderr);
      const readyAt = Date.now();
      await waitFor('all 10,000 events stored', async () => (await stored(subject)).rows >= TOTAL, 120_000, 50);
      const caughtUpAt = Date.now();
      t.diagnostic(`caught up ${caughtUpAt - killedAt} ms after the kill, ${caughtUpAt - readyAt} ms after the restarted audit service was ready (${readyAt - killedAt} ms after the kill)`);
      assert.ok(caughtUpAt - killedAt <= SESSION_TIMEOUT_MS + 5000, `caught up ${caughtUpAt - killedAt} ms after the kill: more than 5 s after the dead instance's session expired`);
      // redeliveries after the restart must not add anything: wait until none is left to come
      await waitFor('every offset committed', committedToTheEnd, 60_000, 250);
      assert.deepEqual(await stored(subject), { rows: TOTAL, ids: TOTAL });
      const expectedIds = new Set(events.map((e) => e.id));
      const ids = await withPg(stack.postgres.url, async (c) => (await c.query<{ id: string }>('SELECT id FROM audit_event WHERE subject = $1', [subject])).rows.map((r) => r.id));
      assert.ok(ids.every((id) => expectedIds.has(id)), 'exactly the published events');

      const integrity = await getJson<IntegrityResponse>(stack, '/v1/integrity');
      assert.equal(integrity.status, 200);
      assert.equal(integrity.body.ok, true, JSON.stringify({ ...integrity.body, public_key: undefined }));
      assert.equal(integrity.body.checked, integrity.body.head?.seq, 'every row from seq 1 to the head checked, no gap');
    } finally {
      await producer.disconnect();
    }
  });
});
