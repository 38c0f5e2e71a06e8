import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { freePort, waitFor } from '@fedgate/testing';

const FIXTURE = path.join(__dirname, 'testing/cluster-fixture.js');

function childrenOf(pid: number): number[] {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));
}

describe('runClustered (FEDGATE_WORKERS > 1)', () => {
  let primary: ChildProcess | undefined;
  afterEach(async () => {
    if (primary && primary.exitCode === null) {
      primary.kill('SIGKILL');
      await exitOf(primary);
    }
  });

  it('runs the workers on one port, sums their metrics, replaces a dead worker and stops them all on SIGTERM', async () => {
    const port = await freePort();
    primary = fork(FIXTURE, [], { env: { ...process.env, FIXTURE_PORT: String(port), FIXTURE_WORKERS: '2' }, stdio: 'ignore' });
    const pid = primary.pid!;
    const workers = await waitFor('two workers', () => (childrenOf(pid).length === 2 ? childrenOf(pid) : undefined), 15_000);
    const metric = async () => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return Number(/^fixture_workers_started_total (\d+)/m.exec(text)?.[1]);
    };
    assert.equal(await waitFor('metrics of both workers', async () => ((await metric()) === 2 ? 2 : undefined), 15_000), 2);

    process.kill(workers[0]!, 'SIGKILL');
    const replaced = await waitFor('a replacement worker', () => {
      const now = childrenOf(pid);
      return now.length === 2 && !now.includes(workers[0]!) ? now : undefined;
    }, 15_000);
    assert.ok(replaced.includes(workers[1]!), 'the other worker kept running');
    // the replacement counts its own start; the dead worker's registry is gone with it
    assert.equal(await waitFor('metrics after the replacement', async () => ((await metric()) === 2 ? 2 : undefined), 15_000), 2);
    assert.equal((await fetch(`http://127.0.0.1:${port}/`)).status, 200);

    primary.kill('SIGTERM');
    assert.equal(await exitOf(primary), 0);
    for (const worker of replaced) assert.throws(() => process.kill(worker, 0), 'worker stopped');
  });

  it('gives up with exit code 1 when workers keep failing at start', async () => {
    const port = await freePort();
    primary = fork(FIXTURE, [], { env: { ...process.env, FIXTURE_PORT: String(port), FIXTURE_WORKERS: '2', FIXTURE_FAIL_AT_START: '1' }, stdio: 'ignore' });
    assert.equal(await exitOf(primary), 1);
  });
});
