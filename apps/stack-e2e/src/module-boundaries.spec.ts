// Nx module boundaries are enforced by lint: these imports must be refused.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { repoRoot } from '@fedgate/testing';

function lint(filename: string, source: string) {
  const result = spawnSync('npx', ['eslint', '--stdin', '--stdin-filename', filename], {
    cwd: repoRoot(),
    input: source,
    encoding: 'utf8',
    env: { ...process.env, NX_DAEMON: 'false' },
    timeout: 120_000,
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('Nx module boundaries', () => {
  it('refuse a library importing an app', () => {
    const r = lint('libs/platform/src/violation.ts', "import { LoginServiceModule } from '../../../apps/login-service/src/app.module';\nexport const x = LoginServiceModule;\n");
    assert.equal(r.status, 1, r.output);
    assert.match(r.output, /@nx\/enforce-module-boundaries/);
  });

  it('refuse a shared library depending on a dev-only library', () => {
    const r = lint('libs/platform/src/violation.ts', "import { approveDeviceLogin } from '@fedgate/dev-idp';\nexport const x = approveDeviceLogin;\n");
    assert.equal(r.status, 1, r.output);
    assert.match(r.output, /scope:shared.*can only depend on libs tagged with.*scope:shared/s);
  });

  it('allow an app importing libraries', () => {
    const r = lint('apps/login-service/src/ok.ts', "import { PlatformModule } from '@fedgate/platform';\nexport const x = PlatformModule;\n");
    assert.equal(r.status, 0, r.output);
    assert.doesNotMatch(r.output, /No cached ProjectGraph/, 'the rule really ran');
  });
});
