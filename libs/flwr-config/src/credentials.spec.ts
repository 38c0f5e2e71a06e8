import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { FlwrCredentialsFileSchema } from '@fedgate/contracts';
import { ensureFlwrGitignore, flwrCredentialsFileContent, flwrCredentialsPath, writeFlwrCredentials } from './credentials';
import { FlwrConfigError } from './errors';

const dirs: string[] = [];
after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function appDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'flwr-creds-'));
  dirs.push(dir);
  return dir;
}

const mode = (file: string) => statSync(file).mode & 0o777;
const tokens = { accessToken: 'access.jwt.value', refreshToken: 'refresh-token-value' };

describe('writeFlwrCredentials', () => {
  it("writes Flower's file: exactly JSON.stringify(obj, null, 4) with the three keys, mode 0600, dirs 0700", () => {
    const dir = appDir();
    const file = writeFlwrCredentials(dir, 'remote', tokens);
    assert.equal(file, path.join(dir, '.flwr', '.credentials', 'remote.json'));
    assert.equal(file, flwrCredentialsPath(dir, 'remote'));
    const expected = { 'authn-type': 'oidc', 'flwr-oidc-access-token': 'access.jwt.value', 'flwr-oidc-refresh-token': 'refresh-token-value' };
    const text = readFileSync(file, 'utf8');
    assert.equal(text, JSON.stringify(expected, null, 4));
    assert.deepEqual(Object.keys(JSON.parse(text)), ['authn-type', 'flwr-oidc-access-token', 'flwr-oidc-refresh-token']);
    assert.ok(FlwrCredentialsFileSchema.safeParse(JSON.parse(text)).success, 'the contracts schema accepts it');
    assert.equal(mode(file), 0o600);
    assert.equal(mode(path.join(dir, '.flwr')), 0o700);
    assert.equal(mode(path.join(dir, '.flwr', '.credentials')), 0o700);
  });

  it('replaces an existing 0644 file atomically and makes it 0600, leaving no temporary file', () => {
    const dir = appDir();
    const credentials = path.join(dir, '.flwr', '.credentials');
    mkdirSync(credentials, { recursive: true });
    const file = path.join(credentials, 'remote.json');
    writeFileSync(file, '{"old": true}', { mode: 0o644 });
    chmodSync(file, 0o644);
    assert.equal(mode(file), 0o644);

    writeFlwrCredentials(dir, 'remote', { accessToken: 'new-access', refreshToken: 'new-refresh' });
    assert.equal(mode(file), 0o600);
    assert.equal(JSON.parse(readFileSync(file, 'utf8'))['flwr-oidc-access-token'], 'new-access');
    assert.deepEqual(readdirSync(credentials), ['remote.json']);
  });

  it('refuses unsafe federation names and empty tokens, without echoing the tokens', () => {
    const dir = appDir();
    for (const name of ['../escape', 'a/b', '..', '']) {
      assert.throws(() => writeFlwrCredentials(dir, name, tokens), (err: unknown) => err instanceof FlwrConfigError && err.code === 'invalid_federation_name');
    }
    assert.equal(existsSync(path.join(dir, 'escape.json')), false);
    assert.throws(
      () => writeFlwrCredentials(dir, 'remote', { accessToken: '', refreshToken: 'secret-refresh' }),
      (err: unknown) => err instanceof FlwrConfigError && err.code === 'credentials_write_failed' && !err.message.includes('secret-refresh'),
    );
    assert.throws(() => flwrCredentialsFileContent({ accessToken: 'a', refreshToken: '' }), FlwrConfigError);
  });

  it('reports an unwritable directory as credentials_write_failed', { skip: process.getuid?.() === 0 ? 'root ignores permissions' : false }, () => {
    const dir = appDir();
    const credentials = path.join(dir, '.flwr', '.credentials');
    mkdirSync(credentials, { recursive: true });
    chmodSync(credentials, 0o500);
    try {
      assert.throws(() => writeFlwrCredentials(dir, 'remote', tokens), (err: unknown) => err instanceof FlwrConfigError && err.code === 'credentials_write_failed');
    } finally {
      chmodSync(credentials, 0o700);
    }
  });
});

describe('ensureFlwrGitignore', () => {
  it('creates .flwr/.gitignore with a `.credentials` line when missing', () => {
    const dir = appDir();
    const status = ensureFlwrGitignore(dir);
    assert.deepEqual(status, { path: path.join(dir, '.flwr', '.gitignore'), created: true, ignoresCredentials: true });
    assert.equal(readFileSync(status.path, 'utf8'), '.credentials\n');
  });

  it('a second run keeps the file and reports it as fine', () => {
    const dir = appDir();
    ensureFlwrGitignore(dir);
    writeFlwrCredentials(dir, 'remote', tokens);
    const second = ensureFlwrGitignore(dir);
    assert.equal(second.created, false);
    assert.equal(second.ignoresCredentials, true);
    assert.equal(readFileSync(second.path, 'utf8'), '.credentials\n');
  });

  it('an existing file without the entry is left untouched and reported (the CLI warns)', () => {
    const dir = appDir();
    mkdirSync(path.join(dir, '.flwr'));
    const file = path.join(dir, '.flwr', '.gitignore');
    writeFileSync(file, '*.log\ncredentials\n');
    const status = ensureFlwrGitignore(dir);
    assert.deepEqual(status, { path: file, created: false, ignoresCredentials: false });
    assert.equal(readFileSync(file, 'utf8'), '*.log\ncredentials\n');
  });

  it('an existing file with the entry (any usual spelling) is fine', () => {
    for (const content of ['.credentials', '# flower\n.credentials/\n', 'x\r\n/.credentials\r\n', '  .credentials  \n']) {
      const dir = appDir();
      mkdirSync(path.join(dir, '.flwr'));
      writeFileSync(path.join(dir, '.flwr', '.gitignore'), content);
      assert.deepEqual(
        { ...ensureFlwrGitignore(dir), path: '' },
        { path: '', created: false, ignoresCredentials: true },
        JSON.stringify(content),
      );
    }
  });
});
