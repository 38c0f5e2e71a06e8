// The PostgreSQL cluster belongs to its state dir. A fresh state dir at the path of a deleted one
// (a fresh checkout where the last one stood, as CI's every run) gets a fresh cluster: the old
// one's audit checkpoints are signed with a key that is gone, and it records the bootstrap admin's
// grant as made, so the new Kafka log never got it and a rebuild (a replay of that log) dropped
// alice: reusing it showed the new stack a broken audit chain and refused alice from the rebuild
// test on. A state dir that is kept keeps its data across restarts.
// The scripts run on a scratch state dir and port, so the running stack is left alone.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { parseEnvFile, repoRoot, runProjectScript, withPg } from '@fedgate/testing';

const root = repoRoot();
const stackEnv = parseEnvFile(readFileSync(path.join(root, 'infra/stack.env'), 'utf8'));
const scratch = mkdtempSync(path.join(os.tmpdir(), 'fedgate-pg-state-'));
const state = path.join(scratch, 'state');

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A FEDGATE_PORT_OFFSET that puts PG_PORT on a free port (offsets only move ports up). */
async function freeOffset(): Promise<number> {
  const base = Number(stackEnv['PG_PORT']);
  for (let offset = 2000 + Math.floor(Math.random() * 3000); offset < 9000; offset += 7) {
    if (await portFree(base + offset)) return offset;
  }
  throw new Error('no free port for the scratch cluster');
}

let offset = 0;
/** postgres.sh on the scratch state dir and port. */
const scratchPostgres = (action: 'start' | 'stop') => runProjectScript('scripts/infra/postgres.sh', [action], 180_000, { FEDGATE_STATE_DIR: state, FEDGATE_PORT_OFFSET: String(offset) });

function postgres(action: 'start' | 'stop') {
  const result = scratchPostgres(action);
  assert.equal(result.status, 0, `postgres.sh ${action}: ${result.stderr}`);
  return result.stderr;
}

/** The owner's URL, with the password of the state dir as it is now. */
function ownerUrl(): string {
  const secrets = parseEnvFile(readFileSync(path.join(state, 'secrets.env'), 'utf8'));
  return `postgresql://${stackEnv['PG_USER']}:${secrets['FEDGATE_PG_PASSWORD']}@127.0.0.1:${Number(stackEnv['PG_PORT']) + offset}/${stackEnv['PG_DATABASE']}`;
}

async function markerPresent(): Promise<boolean> {
  return withPg(ownerUrl(), async (c) => (await c.query("SELECT to_regclass('public.state_marker') IS NOT NULL AS present")).rows[0].present as boolean);
}

describe('the PostgreSQL cluster follows its state dir', { timeout: 600_000 }, () => {
  let cluster = '';
  after(() => {
    // the scratch cluster is stopped and removed, wherever it lives
    if (existsSync(state)) scratchPostgres('stop');
    if (cluster) rmSync(path.dirname(cluster), { recursive: true, force: true });
    rmSync(scratch, { recursive: true, force: true });
  });

  it('keeps its data while the state dir is kept, and starts empty once the state dir was deleted', async () => {
    offset = await freeOffset();
    postgres('start');
    const link = path.join(state, 'data', 'postgres');
    // as root the cluster lives outside the private state dir, where it survives the state dir's deletion
    const outOfTree = process.getuid?.() === 0;
    cluster = outOfTree ? readlinkSync(link) : link;
    await withPg(ownerUrl(), (c) => c.query('CREATE TABLE state_marker (id int)'));

    postgres('stop');
    postgres('start');
    assert.equal(await markerPresent(), true, 'a restart with the same state dir keeps the data');

    postgres('stop');
    rmSync(state, { recursive: true, force: true });
    const log = postgres('start');
    // the new state's secrets open the new cluster, and the old data is not there
    assert.equal(await markerPresent(), false, 'the cluster of the deleted state dir was reused');
    if (outOfTree) assert.match(log, /removing .*the cluster of a deleted state dir/);
    postgres('stop');
  });
});
