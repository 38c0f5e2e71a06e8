// `fedgate keys create`, the compiled CLI: the key goes to its holder (a 0600 file), the entry
// the services are configured with holds only its hash, and FEDGATE_API_KEYS accepts it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { apiKeyHash } from '@fedgate/platform';
import { ApiKeysSchema } from '@fedgate/service-config';
import { repoRoot } from '@fedgate/testing';

const fedgate = (args: string[]) => spawnSync(process.execPath, [path.join(repoRoot(), 'apps/cli/bin/fedgate.js'), 'keys', 'create', ...args], { encoding: 'utf8', timeout: 60_000 });

describe('fedgate keys create', () => {
  it('writes the key to a 0600 file and prints the FEDGATE_API_KEYS entry with its hash only', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fedgate-keys-'));
    try {
      const out = path.join(dir, 'superlink-a.key');
      const made = fedgate(['--name', 'superlink-a', '--out', out]);
      assert.equal(made.status, 0, made.stderr);
      const key = readFileSync(out, 'utf8').trim();
      assert.equal(statSync(out).mode & 0o777, 0o600);
      assert.ok(!made.stdout.includes(key), 'the key is not printed');
      const entry = /FEDGATE_API_KEYS entry: (\S+)/.exec(made.stdout)![1]!;
      const [parsed] = ApiKeysSchema.parse(entry);
      assert.deepEqual([parsed!.client_id, parsed!.roles, parsed!.services, parsed!.keySha256.toString('hex')], ['superlink-a', ['superlink'], ['superlink-a'], apiKeyHash(key)]);
      assert.notEqual(fedgate(['--name', 'superlink-a', '--out', out]).status, 0, 'never overwrites a key file');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses an unknown role or a bad name', () => {
    assert.match(fedgate(['--name', 'op', '--role', 'root']).stderr, /invalid_role/);
    assert.match(fedgate(['--name', 'a b']).stderr, /invalid_name/);
    const operator = fedgate(['--name', 'operator', '--role', 'authz-admin,audit-reader', '--service', 'superlink-a,superlink-b']);
    assert.match(operator.stdout, /FEDGATE_API_KEYS entry: operator:[0-9a-f]{64}:authz-admin\+audit-reader:superlink-a\+superlink-b/);
  });
});
