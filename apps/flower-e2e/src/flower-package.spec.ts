// integrations/flower's own pytest suite (the 1.34+ band against flwr 1.42's real control
// handlers, the 1.22 adapter against flwr 1.22's real servicer, the REST client, the launcher),
// run in the cached flwr venv of each release CI covers end to end, so `npm test` covers the
// Python package with both bands; and the SuperLink interface of every release of the 1.34+
// band, read from its wheel (flwr.sh conformance).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runProjectScript } from '@fedgate/testing';
import { stackEnv, withFlwrVersion } from './flower-cli';

describe('integrations/flower (pytest)', () => {
  for (const [version, band, atLeast] of [[stackEnv.FLWR_VERSION!, 'federation', 30], ['1.22.0', 'legacy', 28]] as const) {
    it(`passes its pytest suite with flwr ${version} (the ${band} band)`, () => {
      // first run on a fresh machine installs flwr from PyPI (a few minutes)
      const result = withFlwrVersion(version, () => runProjectScript('scripts/infra/flwr.sh', ['pytest', '-rs'], 600_000));
      const summary = /(\d+) passed(?:, (\d+) \w+)*/.exec(result.stdout);
      assert.equal(result.status, 0, `pytest failed:\n${result.stdout.slice(-4000)}\n${result.stderr.slice(-2000)}`);
      assert.ok(summary && Number(summary[1]) >= atLeast, `expected the whole suite to run, got: ${result.stdout.slice(-500)}`);
      assert.doesNotMatch(result.stdout, /\d+ (failed|error)/);
      // exactly one module skips: the other band's
      const skipped = [...result.stdout.matchAll(/SKIPPED \[\d+\] (tests\/[\w.]+\.py)/g)].map((m) => m[1]);
      assert.deepEqual(skipped, [band === 'federation' ? 'tests/test_superlink_adapter.py' : 'tests/test_federation_band.py'], result.stdout.slice(-1500));
    });
  }

  it('every release of the 1.34+ band has the SuperLink interface fedgate-flower relies on', () => {
    const releases = (stackEnv.FLWR_FEDERATION_RELEASES ?? '').split(/\s+/).filter(Boolean);
    assert.ok(releases.includes(stackEnv.FLWR_VERSION!), 'the newest release is in the band list');
    const result = runProjectScript('scripts/infra/flwr.sh', ['conformance'], 600_000);
    assert.equal(result.status, 0, `${result.stdout}\n${result.stderr.slice(-2000)}`);
    for (const release of releases) assert.match(result.stdout, new RegExp(`/${release.replaceAll('.', '\\.')}/flwr: ok`));
  });
});
