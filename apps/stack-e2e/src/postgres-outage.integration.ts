// PostgreSQL stopped for 10 s in the middle of 1,500 checks (authz decisions and token
// verifications) on the real stack: no process exits, every failure is a 503 `*_unavailable`,
// the first 200 comes at most 2 s after PostgreSQL is back (no restart of anything), and every
// answered 200 is in the audit log.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { sha256Hex } from '@fedgate/contracts';
import { findStackFile, readStackFile } from '@fedgate/stack';
import { deviceLogin, postJson, processAlive, runProjectScript, stackPid, uniqueSuffix, waitFor, withPg } from '@fedgate/testing';

const stack = readStackFile();
const TOTAL = 1500;
const OUTAGE_AFTER = 300;
const OUTAGE_MS = 10_000;

function postgres(action: 'start' | 'stop'): void {
  const result = runProjectScript('scripts/infra/postgres.sh', [action]);
  assert.equal(result.status, 0, `postgres ${action}: ${result.stderr}`);
}

/** Every process of the stack but PostgreSQL: each service's primary and its workers, the IdP, Kafka, OpenFGA. */
function stackProcesses(): Map<string, number> {
  const pids = new Map<string, number>();
  for (const name of ['login-service', 'token-service', 'authz-service', 'audit-service', 'dev-idp', 'kafka', 'openfga']) {
    const pid = stackPid(findStackFile(), name);
    pids.set(name, pid);
    let children = '';
    try {
      children = execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' });
    } catch {
      // no children
    }
    for (const child of children.split('\n').filter(Boolean)) pids.set(`${name} child ${child}`, Number(child));
  }
  return pids;
}

interface Answer {
  at: number;
  kind: 'check' | 'verify';
  status: number;
  error?: string;
  decisionId?: string;
}

describe('PostgreSQL stopped for 10 s during 1,500 checks', { timeout: 300_000 }, () => {
  after(() => {
    // whatever happened, PostgreSQL runs again for the other tests
    postgres('start');
  });

  it('no process exits, failures are 503 *_unavailable, answers resume within 2 s, every 200 is audited', async (t) => {
    const tokens = await deviceLogin(stack, 'carol');
    const subject = `pg-outage-${uniqueSuffix()}`;
    const before = stackProcesses();
    const answers: Answer[] = [];
    let next = 0;
    const worker = async (id: number) => {
      while (next < TOTAL) {
        next += 1;
        const kind = id % 2 === 0 ? 'check' : 'verify';
        const res =
          kind === 'check'
            ? await postJson(stack, `${stack.services.authz}/v1/check`, { flwr_aid: subject, relation: 'has_access', object: `service:${stack.service_name}` })
            : await postJson(stack, `${stack.services.token}/v1/verify`, { access_token: tokens.access_token });
        answers.push({ at: Date.now(), kind, status: res.status, error: res.body?.error, decisionId: res.body?.decision_id });
        // while failing, ask at a steady pace so the outage spans many of the 1,500
        if (res.status !== 200) await delay(50);
      }
    };
    const workers = Promise.all([0, 1, 2, 3].map(worker));
    await waitFor(`${OUTAGE_AFTER} answers`, () => answers.length >= OUTAGE_AFTER, 120_000, 10);
    postgres('stop');
    const stoppedAt = Date.now();
    await delay(OUTAGE_MS); // the outage itself: PostgreSQL stays down this long
    postgres('start');
    const backAt = Date.now();
    await workers;

    const during = answers.filter((a) => a.at > stoppedAt && a.at < backAt);
    const failures = answers.filter((a) => a.status !== 200);
    const firstBack = answers.find((a) => a.at >= backAt && a.status === 200);
    t.diagnostic(`${answers.length} answers: ${during.length} during the outage, ${failures.length} failures (${[...new Set(failures.map((f) => `${f.status} ${f.error}`))].join(', ')}); first 200 ${firstBack ? firstBack.at - backAt : '-'} ms after PostgreSQL was back`);
    assert.equal(answers.length, TOTAL);
    assert.ok(during.length >= 100, 'the outage fell in the middle of the checks');
    assert.ok(failures.length > 0, 'the outage was felt');
    assert.deepEqual(failures.filter((f) => f.status !== 503 || !/^[a-z]+_unavailable$/.test(f.error ?? '')), [], 'every failure a 503 *_unavailable');
    assert.ok(firstBack !== undefined && firstBack.at - backAt <= 2000, 'the first 200 at most 2 s after PostgreSQL is back');

    const died = [...before].filter(([, pid]) => !processAlive(pid)).map(([name]) => name);
    assert.deepEqual(died, [], 'no process exited');

    // every answered 200 is in the audit log: each decision by its id, each verification by count
    const decisions = answers.filter((a) => a.kind === 'check' && a.status === 200).map((a) => a.decisionId!);
    const verified = answers.filter((a) => a.kind === 'verify' && a.status === 200).length;
    const tokenHash = sha256Hex(tokens.access_token);
    await waitFor('every 200 in the audit log', async () => {
      const [d, v] = await withPg(stack.postgres.url, async (c) =>
        Promise.all([
          c.query<{ n: number }>('SELECT count(DISTINCT decision_id)::int AS n FROM audit_event WHERE decision_id = ANY($1::text[])', [decisions]),
          c.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_event WHERE type = 'fedgate.token.verified.v1' AND data->>'access_token_hash' = $1`, [tokenHash]),
        ]),
      );
      return d.rows[0]!.n === decisions.length && v.rows[0]!.n >= verified;
    }, 120_000, 500);
  });
});
