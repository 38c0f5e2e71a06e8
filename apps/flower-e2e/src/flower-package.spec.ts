// integrations/flower's own pytest suite (plugins, REST client, run-ownership routing
// against the real flwr servicer), run in the cached flwr venv so `npm test` covers the
// Python package too.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runProjectScript } from '@fedgate/testing';

describe('integrations/flower (pytest)', () => {
  it('passes its pytest suite in the cached flwr venv', () => {
    // first run on a fresh machine installs flwr from PyPI (a few minutes)
    const result = runProjectScript('scripts/infra/flwr.sh', ['pytest'], 600_000);
    const summary = /(\d+) passed(?:, (\d+) \w+)*/.exec(result.stdout);
    assert.equal(result.status, 0, `pytest failed:\n${result.stdout.slice(-4000)}\n${result.stderr.slice(-2000)}`);
    assert.ok(summary && Number(summary[1]) >= 25, `expected the whole suite to run, got: ${result.stdout.slice(-500)}`);
    assert.doesNotMatch(result.stdout, /\d+ (failed|error)/);
  });
});
