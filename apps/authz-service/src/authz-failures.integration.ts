// authz-service when its dependencies fail, on the real stack: OpenFGA stopped → 503, never an
// allow; Kafka stopped during 1,000 checks → every decision event arrives once it is back; the
// other services' relays stopped → its own relay still publishes its decisions.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Pool } from 'pg';
import { TOPICS } from '@fedgate/contracts';
import { CloudEventConsumer, ConsumedPositions, operatorKafkaSettings, topicEndOffsets } from '@fedgate/kafka';
import { findStackFile, readStackFile } from '@fedgate/stack';
import { processAlive, runProjectScript, stackAdmin, stackPid, uniqueSuffix, waitFor } from '@fedgate/testing';
import { authzApi, freshRunId, projectorWorks } from './authz-client.testing';

const stack = readStackFile();
const api = authzApi(stack);
const service = `service:${stack.service_name}`;
const admin = stackAdmin(stack);

function infra(script: 'openfga' | 'kafka', action: 'start' | 'stop'): void {
  const result = runProjectScript(`scripts/infra/${script}.sh`, [action]);
  assert.equal(result.status, 0, `${script} ${action}: ${result.stderr}`);
}

const ready = () => waitFor('authz-service ready', async () => (await fetch(`${stack.services.authz}/readyz`)).ok, 120_000, 250);

describe('authz-service fails closed', { timeout: 300_000 }, () => {
  after(async () => {
    // whatever happened, the stack is whole again for the other tests
    infra('openfga', 'start');
    infra('kafka', 'start');
    await ready();
    await projectorWorks(stack);
  });

  it('answers 503 authz_unavailable, never an allow, while OpenFGA is stopped; audits the failure', async () => {
    const run = freshRunId();
    const registered = await api.register(run, admin);
    assert.equal(await api.allowed(admin, 'can_view', `run:${run}`, registered.body.consistency_token), true);
    const who = `nobody-${uniqueSuffix()}`;
    infra('openfga', 'stop');
    try {
      const questions: Array<[string, string, string]> = [
        [admin, 'can_stop', `run:${run}`],
        [admin, 'has_access', service],
        [who, 'has_access', service],
      ];
      for (const [flwrAid, relation, object] of questions) {
        // the same question also with a token: bypasses any cached answer
        for (const token of [undefined, registered.body.consistency_token]) {
          const res = await api.check(flwrAid, relation, object, token);
          if (token !== undefined || flwrAid === who) assert.deepEqual([res.status, res.body.error], [503, 'authz_unavailable'], `${flwrAid} ${relation} ${object}`);
          assert.notEqual(res.body.allowed, true, 'never an allow from a failing backend unless cached moments ago');
        }
      }
      const pool = new Pool({ connectionString: stack.postgres.url, max: 1 });
      try {
        const { rows } = await pool.query(
          `SELECT count(*)::int AS n FROM outbox_event WHERE topic = $1 AND event->'data'->>'flwr_aid' = $2 AND event->'data'->>'error' = 'authz_unavailable'`,
          [TOPICS.authz, who],
        );
        assert.equal(rows[0].n, 2, 'each failed decision is recorded as a fail-closed deny');
      } finally {
        await pool.end();
      }
      // a share needing an admin decision (carol does not own the run) cannot be authorized either
      const share = await api.share(run, who, 'viewer', 'carol');
      assert.deepEqual([share.status, share.body.error], [503, 'authz_unavailable']);
    } finally {
      infra('openfga', 'start');
    }
    await waitFor('decisions again', async () => (await api.check(who, 'has_access', service)).status === 200, 60_000, 250);
  });

  it("publishes its decisions with the token- and login-service's relays stopped, which otherwise take them first", { timeout: 240_000 }, async () => {
    // the decisions topic is relayed by all three; the authz-service's relay takes it only once its
    // events are 10 s old (gatherMs), so with the other two down it must still do so
    const pids = ['token-service', 'login-service'].map((name) => stackPid(findStackFile(), name));
    const pool = new Pool({ connectionString: stack.postgres.url, max: 1 });
    try {
      for (const pid of pids) process.kill(pid, 'SIGTERM');
      await waitFor('the token- and login-service stopped', () => pids.every((pid) => !processAlive(pid)), 60_000, 100);
      const res = await api.check(`relay-${uniqueSuffix()}`, 'has_access', service);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const published = await waitFor('the decision published by the authz-service alone', async () => {
        const { rows } = await pool.query<{ waited_ms: number | null }>(
          `SELECT (extract(epoch FROM published_at - created_at) * 1000)::float8 AS waited_ms FROM outbox_event WHERE topic = $1 AND event->'data'->>'decision_id' = $2`,
          [TOPICS.authz, res.body.decision_id],
        );
        return rows[0]?.waited_ms ?? undefined;
      }, 60_000, 250);
      assert.ok(published < 30_000, `published ${published} ms after it was written`);
    } finally {
      await pool.end();
      const start = runProjectScript('scripts/infra/services.sh', ['start']);
      assert.equal(start.status, 0, start.stderr);
    }
  });

  it('records all of 1,000 decisions answered while Kafka is stopped: each arrives once Kafka is back, none twice', { timeout: 300_000 }, async () => {
    const who = `audit-${uniqueSuffix()}`;
    const objects = Array.from({ length: 50 }, (_, i) => `run:${i + 1}`);
    infra('kafka', 'stop');
    const ids: string[] = [];
    try {
      let next = 0;
      const worker = async () => {
        while (next < 1000) {
          const i = next++;
          const res = await api.check(who, 'can_view', objects[i % objects.length]!);
          assert.equal(res.status, 200, JSON.stringify(res.body));
          ids.push(res.body.decision_id as string);
        }
      };
      await Promise.all(Array.from({ length: 16 }, worker));
      assert.equal(new Set(ids).size, 1000, '1,000 distinct decision ids');
      // durable before the answer: every answered decision is already in the outbox
      const pool = new Pool({ connectionString: stack.postgres.url, max: 1 });
      try {
        const { rows } = await pool.query(`SELECT count(*)::int AS n FROM outbox_event WHERE topic = $1 AND event->'data'->>'decision_id' = ANY($2::text[])`, [TOPICS.authz, ids]);
        assert.equal(rows[0].n, 1000);
      } finally {
        await pool.end();
      }
    } finally {
      infra('kafka', 'start');
    }
    const seen = new Map<string, number>();
    const wanted = new Set(ids);
    const positions = new ConsumedPositions();
    const consumer = new CloudEventConsumer(
      operatorKafkaSettings(stack, 'authz-audit-test'),
      {
        groupId: `authz-audit-test-${uniqueSuffix()}`,
        topics: [TOPICS.authz],
        fromBeginning: true,
        handle: async (batch) => {
          for (const message of batch) {
            const { event } = message;
            if (event.type === 'fedgate.authz.decision.v1' && wanted.has(event.data.decision_id)) seen.set(event.data.decision_id, (seen.get(event.data.decision_id) ?? 0) + 1);
            positions.record(message);
          }
        },
      },
    );
    await consumer.start();
    try {
      await waitFor('the 1,000 decision events on Kafka', () => seen.size === 1000, 180_000, 500);
      // a late duplicate could only come from the outbox: once it has published everything, read
      // the topic to its end, so a duplicate would be counted
      const pool = new Pool({ connectionString: stack.postgres.url, max: 1 });
      try {
        await waitFor('the outbox to have published every decision', async () => {
          const { rows } = await pool.query(`SELECT count(*)::int AS n FROM outbox_event WHERE topic = $1 AND published_at IS NULL`, [TOPICS.authz]);
          return rows[0].n === 0;
        }, 60_000, 200);
      } finally {
        await pool.end();
      }
      const ends = await topicEndOffsets(operatorKafkaSettings(stack, 'authz-audit-test-offsets'), TOPICS.authz);
      await waitFor('the consumer at the end of the topic', () => positions.reached(ends), 60_000, 100);
      assert.equal(seen.size, 1000);
      assert.deepEqual([...seen.values()].filter((n) => n !== 1), [], 'no decision event twice');
    } finally {
      await consumer.stop();
    }
    await ready();
  });
});
