// Issue 14, item 6: the SuperLink's secret stays with the SuperLink. A real ServerApp (the FAB
// in fixtures/secret-probe), started by the real `flwr run` on the stack's SuperLink as any
// user's code is, searches its environment, every process's environment and command line it
// can read, and every file it can read under the places secrets could be (the repo checkout
// and its state dir, /tmp, /etc, /root, /home, /var, /opt, /srv, /usr/local, its own home) for
// the SuperLink's key, the operator's key, every other secret of the stack and every private
// key. It is given their SHA-256 only. It must find none of them, and no private key outside
// installed packages' public test material; and it must find the decoys this test plants where
// it can read them, or the scan proves nothing.
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes, createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { StackFile } from '@fedgate/contracts';
import { authTypeKeyOf, writeFlwrCredentialStore, writeFlwrCredentials } from '@fedgate/flwr-config';
import { readStackFile } from '@fedgate/stack';
import { parseEnvFile, personTokens, waitFor } from '@fedgate/testing';
import { CONNECTION, controlPort, ensureFlwr, exec, root, stackEnv, startSuperlink, state, stopSuperlink } from './flower-cli';

const address = `127.0.0.1:${controlPort}`;
const EXECUTOR_USER = process.env.SUPERLINK_EXECUTOR_USER ?? 'fedgate-serverapp';
/** The newest release by default; FEDGATE_ISOLATION_VERSIONS=1.42.0,1.22.0 for the old line too. */
const VERSIONS = (process.env.FEDGATE_ISOLATION_VERSIONS ?? stackEnv.FLWR_VERSION!).split(',').filter(Boolean);
/** Where a private key is public test material of an installed package or toolchain, not a secret. */
const INSTALLED = /\/(site-packages|dist-packages|node_modules)\/|^\/usr\/(local\/go|lib|share)\//;

interface Finding {
  what: string;
  where: string;
}
interface ProbeResult {
  uid: number;
  euid: number;
  groups: number[];
  roots: string[];
  findings: Finding[];
  stats: { files: number; bytes: number; processes: number; truncated?: boolean };
  seconds: number;
}

const sha256 = (text: string | Buffer) => createHash('sha256').update(text).digest('hex');

/**
 * The fingerprint of each private key in a text, as the probe computes it: the SHA-256 of a PEM
 * block's base64 body without whitespace or headers, of a JWK's `d`.
 */
function privateKeyFingerprints(text: string): string[] {
  const pems = [...text.matchAll(/-----BEGIN ((?:[A-Z0-9]+ )*PRIVATE KEY)-----\s+([A-Za-z0-9+/=\s:,-]{40,}?)-----END \1-----/g)].map((m) =>
    sha256(m[2]!.replace(/^[A-Za-z-]+:.*$/gm, '').replace(/\s+/g, '')),
  );
  const jwks = /"kty"\s*:/.test(text) ? [...text.matchAll(/"d"\s*:\s*"([A-Za-z0-9_-]{16,})"/g)].map((m) => sha256(m[1]!)) : [];
  return [...pems, ...jwks];
}

/** Every private key of the stack, under its state dir (TLS, IdP, audit signing, the SuperLink's): label → fingerprint. */
function stackPrivateKeys(dir: string, into = new Map<string, string>()): Map<string, string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'postgres' && entry.name !== 'kafka') stackPrivateKeys(file, into);
    } else if (entry.isFile() && statSync(file).size < 4 << 20) {
      privateKeyFingerprints(readFileSync(file, 'latin1')).forEach((fp, i) => into.set(`key:${path.relative(state, file).replace(/[^A-Za-z0-9._/-]/g, '_')}#${i}`, fp));
    }
  }
  return into;
}

describe('a ServerApp started by flwr run reads none of the SuperLink\'s secrets', { timeout: 1_200_000 }, () => {
  let stack: StackFile;
  before(() => {
    stack = readStackFile();
  });

  for (const version of VERSIONS) {
    describe(`flwr ${version}`, () => {
      const configToml = Number(version.split('.')[1]) >= 26;
      let venv = '';
      let work = '';
      let decoys = '';
      let results = '';

      before(async () => {
        assert.equal(process.getuid?.(), 0, 'the ServerApp executor runs as its own user only when the stack is started as root (as CI does)');
        venv = ensureFlwr(version);
        // the stack's own default: process isolation, the executor under its own user
        startSuperlink(version, {});
        work = mkdtempSync(path.join(os.tmpdir(), 'fedgate-isolation-')); // 0700: the person's tokens
        decoys = mkdtempSync(path.join(os.tmpdir(), 'fedgate-isolation-decoys-'));
        results = mkdtempSync(path.join(os.tmpdir(), 'fedgate-isolation-results-'));
        chmodSync(decoys, 0o755);
        chmodSync(results, 0o777); // the probe, as the executor's user, writes its answer here
      });

      after(() => {
        stopSuperlink();
        for (const dir of [work, decoys, results]) if (dir) rmSync(dir, { recursive: true, force: true });
      });

      it('finds no secret and no private key of the stack anywhere it can read, and does find the decoys', async () => {
        // what must not be found: the keys, every secret of secrets.env, every private key of the stack
        const secrets = new Map<string, string>([
          ['superlink-key', sha256(stack.api_key)],
          ['operator-key', sha256(stack.admin_api_key!)],
          ['other-superlink-key', sha256(stack.other_service!.api_key)],
        ]);
        for (const [name, value] of Object.entries(parseEnvFile(readFileSync(path.join(state, 'secrets.env'), 'utf8')))) {
          if (!name.endsWith('_SHA256') && value.length >= 24) secrets.set(`secrets.env:${name}`, sha256(value));
        }
        const stackKeys = stackPrivateKeys(state);
        assert.ok([...stackKeys.keys()].some((k) => k.includes('server-key')), `the stack's TLS key is among those looked for: ${[...stackKeys.keys()].join(', ')}`);
        for (const [label, fp] of stackKeys) secrets.set(label, fp);

        // decoys, readable by anyone: a secret word and a private key
        const decoySecret = randomBytes(24).toString('hex');
        writeFileSync(path.join(decoys, 'decoy-secret.env'), `SOME_API_KEY=${decoySecret}\n`, { mode: 0o644 });
        const decoyPem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
        writeFileSync(path.join(decoys, 'decoy-key.pem'), decoyPem, { mode: 0o644 });
        secrets.set('decoy-secret', sha256(decoySecret));
        secrets.set('decoy-key', privateKeyFingerprints(decoyPem)[0]!);

        // alice's own login, where this flwr reads it; the probe app as a project of hers
        const tokens = await personTokens(stack, 'alice');
        const app = path.join(work, 'app');
        const home = path.join(work, 'flwr-home');
        cpSync(path.join(root, 'apps/flower-e2e/fixtures/secret-probe'), app, { recursive: true });
        mkdirSync(home, { recursive: true });
        const flwrTokens = { accessToken: tokens.access_token, refreshToken: tokens.refresh_token };
        if (configToml) {
          writeFileSync(path.join(home, 'config.toml'), `[superlink]\ndefault = "${CONNECTION}"\n\n[superlink.${CONNECTION}]\naddress = "${address}"\nroot-certificates = "${stack.ca_cert}"\n`);
          writeFlwrCredentialStore(home, address, flwrTokens);
        } else {
          const pyproject = path.join(app, 'pyproject.toml');
          writeFileSync(pyproject, `${readFileSync(pyproject, 'utf8')}\n[tool.flwr.federations]\ndefault = "${CONNECTION}"\n\n[tool.flwr.federations.${CONNECTION}]\naddress = "${address}"\nroot-certificates = "${stack.ca_cert}"\nenable-user-auth = true\n`);
          writeFlwrCredentials(app, CONNECTION, flwrTokens, authTypeKeyOf(version));
        }

        const resultFile = path.join(results, 'result.json');
        const roots = [...new Set([root, state, '/tmp', '/etc', '/root', '/home', '/var', '/opt', '/srv', '/usr/local'])];
        const runConfig = [
          `secret-sha256="${[...secrets].map(([label, digest]) => `${label}:${digest}`).join(',')}"`,
          `scan-roots="${roots.join(',')}"`,
          `result-file="${resultFile}"`,
        ].join(' ');
        const env = { PATH: `${path.join(venv, 'bin')}:/usr/bin:/bin`, HOME: home, FLWR_HOME: home, FLWR_TELEMETRY_ENABLED: '0', NO_COLOR: '1', COLUMNS: '200' };
        const run = await exec(path.join(venv, 'bin/flwr'), ['run', '.', ...(configToml ? [CONNECTION] : []), '--run-config', runConfig, '--format', 'json'], { cwd: app, env, timeoutMs: 120_000 });
        assert.equal(run.code, 0, run.out);
        assert.equal((JSON.parse(run.out.slice(run.out.indexOf('{'))) as { success: boolean }).success, true, run.out);

        const result = await waitFor(
          'the probe ServerApp to report',
          () => (existsSync(resultFile) ? (JSON.parse(readFileSync(resultFile, 'utf8')) as ProbeResult) : undefined),
          600_000,
          1000,
        );
        const summary = JSON.stringify({ ...result, findings: result.findings.length }, null, 1);
        console.log(`# secret probe (flwr ${version}): ${result.stats.files} files, ${(result.stats.bytes / 1e6).toFixed(0)} MB, ${result.stats.processes} process environments in ${result.seconds} s as uid ${result.uid}`);

        // the scan really ran (and would have found them): the decoys, and nothing else by hash
        assert.ok(result.stats.files > 1000 && !result.stats.truncated, summary);
        const secretsFound = result.findings.filter((f) => f.what.startsWith('secret:'));
        assert.deepEqual(
          secretsFound.map((f) => `${f.what} ${f.where}`).sort(),
          [`secret:decoy-key ${path.join(decoys, 'decoy-key.pem')}`, `secret:decoy-secret ${path.join(decoys, 'decoy-secret.env')}`],
          'only the decoys: no key, no secret of secrets.env, no private key of the stack',
        );
        // no private key anywhere but the decoy and installed packages' public test material
        const keysFound = result.findings.filter((f) => !f.what.startsWith('secret:') && !f.where.startsWith(decoys));
        assert.deepEqual(keysFound.filter((f) => !INSTALLED.test(f.where)), [], 'private keys readable by user code');
        assert.ok(result.findings.some((f) => f.what.startsWith('pem:') && f.where === path.join(decoys, 'decoy-key.pem')), 'the decoy key is found as a private key too');
        // it ran as the executor's own user, not as the SuperLink's
        const executorUid = Number((await exec('id', ['-u', EXECUTOR_USER], { cwd: '/', env: process.env })).out.trim());
        assert.ok(executorUid > 0, `${EXECUTOR_USER} exists`);
        assert.deepEqual([result.uid, result.euid], [executorUid, executorUid], summary);
        assert.ok(!result.groups.includes(0), `no root group: ${summary}`);
      });
    });
  }
});
