// `npx fedgate audit query|export|tail` against the stack's audit service (verify is exercised
// by apps/audit-service's tamper test on an isolated log).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { createCloudEvent, toKafkaMessage, type AuditEvent } from '@fedgate/contracts';
import { readStackFile } from '@fedgate/stack';
import { repoRoot, uniqueSuffix, waitFor } from '@fedgate/testing';

const stack = readStackFile();
const launcher = path.join(repoRoot(), 'apps/cli/bin/fedgate.js');
const fedgate = (args: string[]) => spawnSync(process.execPath, [launcher, ...args], { cwd: repoRoot(), encoding: 'utf8', timeout: 60_000 });

async function publishDecisions(flwrAid: string, object: string, allowed: boolean[]): Promise<string[]> {
  const events = allowed.map((a) =>
    createCloudEvent({ type: 'fedgate.authz.decision.v1', source: '/fedgate/authz-service', data: { decision_id: randomUUID(), flwr_aid: flwrAid, relation: 'can_view', object, allowed: a, endpoint: 'check', cached: false } }),
  );
  const producer = new Kafka({ clientId: `cli-audit-${uniqueSuffix()}`, brokers: stack.kafka.brokers, sasl: stack.kafka.sasl, logLevel: logLevel.NOTHING }).producer();
  await producer.connect();
  await producer.send({ topic: toKafkaMessage(events[0]!).topic, messages: events.map((e) => toKafkaMessage(e)) });
  await producer.disconnect();
  return events.map((e) => e.id);
}

describe('npx fedgate audit', () => {
  const flwrAid = `cli-${uniqueSuffix()}`;
  const object = `run:${uniqueSuffix()}`;

  it('query: a table or JSON, filtered', { timeout: 90_000 }, async () => {
    const ids = await publishDecisions(flwrAid, object, [true, false, false]);
    const page = await waitFor('the three decisions', () => {
      const run = fedgate(['audit', 'query', '--actor', flwrAid, '--json']);
      assert.equal(run.status, 0, run.stderr);
      const answer = JSON.parse(run.stdout) as { events: AuditEvent[] };
      return answer.events.length === 3 && answer;
    }, 30_000, 500);
    assert.deepEqual(new Set(page.events.map((e) => e.id)), new Set(ids));
    const denied = fedgate(['audit', 'query', '--actor', flwrAid, '--outcome', 'denied']);
    assert.equal(denied.status, 0, denied.stderr);
    const lines = denied.stdout.trim().split('\n');
    assert.match(lines[0]!, /^SEQ\s+TIME\s+TYPE\s+ACTOR\s+OBJECT\s+ACTION\s+OUTCOME$/);
    assert.equal(lines.length, 3);
    assert.ok(lines.slice(1).every((l) => l.includes(object) && l.endsWith('denied')));
    const bad = fedgate(['audit', 'query', '--outcome', 'maybe']);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /error: invalid_request:/);
  });

  it('export: NDJSON to a 0600 file, oldest first', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fedgate-export-'));
    try {
      const file = path.join(dir, 'audit.ndjson');
      const run = fedgate(['audit', 'export', '--actor', flwrAid, '--output', file]);
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stderr, /exported 3 events/);
      const events = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as AuditEvent);
      assert.equal(events.length, 3);
      assert.ok(events[0]!.seq < events[1]!.seq && events[1]!.seq < events[2]!.seq);
      assert.equal(statSync(file).mode & 0o777, 0o600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('tail: prints events stored after it started', { timeout: 90_000 }, async () => {
    const child = spawn(process.execPath, [launcher, 'audit', 'tail', '--actor', flwrAid, '--json', '--interval', '300'], { cwd: repoRoot() });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    try {
      // tail starts at the head (it says which): the earlier three must not show up
      await waitFor('tail to have read the head', () => /following events after seq \d+/.test(err), 30_000, 50);
      const [id] = await publishDecisions(flwrAid, object, [false]);
      await waitFor('the new event in the tail', () => out.includes(id!), 30_000, 200);
      const shown = out.trim().split('\n').map((l) => JSON.parse(l) as AuditEvent);
      assert.deepEqual(shown.map((e) => e.id), [id]);
    } finally {
      child.kill();
    }
  });
});
