import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { FlwrConfigError } from './errors';
import { assertLoginFederation, assertSafeFederationName, listFederations, loadFlwrProject, resolveLoginFederation, selectFederation } from './federation-config';

const dirs: string[] = [];
after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function app(pyproject?: string, files: Record<string, string> = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'flwr-config-'));
  dirs.push(dir);
  if (pyproject !== undefined) writeFileSync(path.join(dir, 'pyproject.toml'), pyproject);
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
  return dir;
}

function fails(code: string, fn: () => unknown): FlwrConfigError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof FlwrConfigError, `expected FlwrConfigError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  return caught;
}

const PROJECT = `
[project]
name = "quickstart"

[tool.flwr.app.components]
serverapp = "app.server:app"

[tool.flwr.federations]
default = "local"

[tool.flwr.federations.local]
options.num-supernodes = 10

[tool.flwr.federations.remote]
address = "superlink.example.org:9093"
root-certificates = "certs/ca.crt"
enable-user-auth = true

[tool.flwr.federations.newer]
address = "127.0.0.1:9093"
enable-account-auth = true

[tool.flwr.federations.plain]
address = "127.0.0.1:9093"
insecure = true
enable-account-auth = true

[tool.flwr.federations.noauth]
address = "127.0.0.1:9093"
`;

describe('loadFlwrProject', () => {
  it('reads APP/pyproject.toml and lists the federation tables (not `default`)', () => {
    const dir = app(PROJECT);
    const project = loadFlwrProject(dir);
    assert.equal(project.appDir, dir);
    assert.equal(project.pyprojectPath, path.join(dir, 'pyproject.toml'));
    assert.deepEqual(listFederations(project), ['local', 'remote', 'newer', 'plain', 'noauth']);
  });
  it('APP defaults to the current directory', () => {
    const dir = app(PROJECT);
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      assert.equal(loadFlwrProject().pyprojectPath, path.join(dir, 'pyproject.toml'));
    } finally {
      process.chdir(cwd);
    }
  });
  it('no pyproject.toml → pyproject_not_found', () => {
    const error = fails('pyproject_not_found', () => loadFlwrProject(app()));
    assert.match(error.message, /No pyproject\.toml found/);
  });
  it('invalid TOML → invalid_pyproject with the line', () => {
    const error = fails('invalid_pyproject', () => loadFlwrProject(app('[tool.flwr\naddress = ')));
    assert.match(error.message, /not valid TOML \(line \d+\)/);
  });
});

describe('selectFederation', () => {
  it('picks the default federation when none is named', () => {
    const dir = app(`[tool.flwr.federations]\ndefault = "newer"\n[tool.flwr.federations.newer]\naddress = "127.0.0.1:9093"\nenable-account-auth = true\n`);
    const federation = selectFederation(loadFlwrProject(dir));
    assert.equal(federation.name, 'newer');
    assert.equal(federation.address, '127.0.0.1:9093');
    assert.equal(federation.insecure, false);
    assert.equal(federation.accountAuth, true);
    assert.deepEqual(federation.accountAuthKeys, ['enable-account-auth']);
    assert.equal(federation.rootCertificates, undefined);
  });
  it('picks a named federation; root-certificates resolve against APP; the older `enable-user-auth` counts', () => {
    const dir = app(PROJECT);
    const federation = selectFederation(loadFlwrProject(dir), 'remote');
    assert.equal(federation.name, 'remote');
    assert.equal(federation.address, 'superlink.example.org:9093');
    assert.equal(federation.rootCertificates, path.join(dir, 'certs', 'ca.crt'));
    assert.equal(federation.accountAuth, true);
    assert.deepEqual(federation.accountAuthKeys, ['enable-user-auth']);
  });
  it('no [tool.flwr.federations] section → no_federations', () => {
    const error = fails('no_federations', () => selectFederation(loadFlwrProject(app('[project]\nname = "x"\n'))));
    assert.match(error.message, /\[tool\.flwr\.federations\]/);
  });
  it('a section without tables → no_federations', () => {
    fails('no_federations', () => selectFederation(loadFlwrProject(app('[tool.flwr.federations]\ndefault = "x"\n'))));
  });
  it('no name and no default → no_default_federation, naming the known ones', () => {
    const error = fails('no_default_federation', () =>
      selectFederation(loadFlwrProject(app('[tool.flwr.federations.a]\naddress = "h:1"\n[tool.flwr.federations.b]\naddress = "h:2"\n'))),
    );
    assert.deepEqual(error.knownFederations, ['a', 'b']);
    assert.match(error.message, /`a`, `b`/);
  });
  it('unknown federation → unknown_federation listing the known ones', () => {
    const error = fails('unknown_federation', () => selectFederation(loadFlwrProject(app(PROJECT)), 'nope'));
    assert.deepEqual(error.knownFederations, ['local', 'remote', 'newer', 'plain', 'noauth']);
    assert.match(error.message, /There is no `nope` federation/);
    assert.match(error.message, /`local`, `remote`, `newer`, `plain`, `noauth`/);
  });
  it('a default naming a missing table → unknown_federation', () => {
    fails('unknown_federation', () => selectFederation(loadFlwrProject(app('[tool.flwr.federations]\ndefault = "gone"\n[tool.flwr.federations.a]\naddress = "h:1"\n'))));
  });
  it('a federation without address → federation_without_address', () => {
    const error = fails('federation_without_address', () => selectFederation(loadFlwrProject(app(PROJECT)), 'local'));
    assert.match(error.message, /`local` has no `address`/);
  });
  it('wrongly typed keys → invalid_federation_config', () => {
    fails('invalid_federation_config', () => selectFederation(loadFlwrProject(app('[tool.flwr.federations.a]\naddress = 9093\n')), 'a'));
    fails('invalid_federation_config', () => selectFederation(loadFlwrProject(app('[tool.flwr.federations.a]\naddress = "h:1"\ninsecure = "false"\n')), 'a'));
    fails('invalid_federation_config', () =>
      selectFederation(loadFlwrProject(app('[tool.flwr.federations.a]\naddress = "h:1"\nenable-account-auth = "yes"\n')), 'a'),
    );
    fails('invalid_federation_config', () => selectFederation(loadFlwrProject(app('[tool.flwr.federations]\ndefault = 3\n[tool.flwr.federations.a]\naddress = "h:1"\n'))));
  });
  it('unsafe names are refused before any lookup (names become file names)', () => {
    const project = loadFlwrProject(app(`${PROJECT}\n[tool.flwr.federations."a/b"]\naddress = "h:1"\n[tool.flwr.federations."x..y"]\naddress = "h:1"\n`));
    for (const name of ['a/b', 'x..y', '../remote', '..', '.', 'a\\b', '.hidden', '-x', 'a\u0000b', 'ä', 'x'.repeat(129)]) {
      fails('invalid_federation_name', () => selectFederation(project, name));
    }
    fails('invalid_federation_name', () => selectFederation(loadFlwrProject(app('[tool.flwr.federations]\ndefault = "../x"\n[tool.flwr.federations.a]\naddress = "h:1"\n'))));
  });
});

describe('assertSafeFederationName', () => {
  it('accepts the usual Flower names', () => {
    for (const name of ['local-deployment', 'remote', 'superlink_1', 'prod.eu', 'A9']) assertSafeFederationName(name);
  });
});

describe('assertLoginFederation (what `flwr login` demands)', () => {
  it('refuses an insecure federation: TLS only', () => {
    const error = fails('insecure_federation', () => assertLoginFederation(selectFederation(loadFlwrProject(app(PROJECT)), 'plain')));
    assert.match(error.message, /requires TLS/);
    assert.match(error.message, /insecure = true/);
  });
  it('refuses a federation without account authentication', () => {
    const error = fails('account_auth_disabled', () => assertLoginFederation(selectFederation(loadFlwrProject(app(PROJECT)), 'noauth')));
    assert.match(error.message, /enable-account-auth = true/);
  });
  it('refuses missing root certificates, accepts present ones', () => {
    const dir = app(PROJECT);
    fails('root_certificates_not_found', () => resolveLoginFederation(dir, 'remote'));
    const withCa = app(PROJECT.replace('certs/ca.crt', 'ca.crt'), { 'ca.crt': '-----BEGIN CERTIFICATE-----\n' });
    assert.equal(resolveLoginFederation(withCa, 'remote').rootCertificates, path.join(withCa, 'ca.crt'));
  });
  it('accepts both auth spellings', () => {
    const dir = app(PROJECT);
    assert.equal(resolveLoginFederation(dir, 'newer').name, 'newer');
    const userAuth = app('[tool.flwr.federations.old]\naddress = "h:1"\nenable-user-auth = true\n');
    assert.deepEqual(resolveLoginFederation(userAuth, 'old').accountAuthKeys, ['enable-user-auth']);
  });
});
