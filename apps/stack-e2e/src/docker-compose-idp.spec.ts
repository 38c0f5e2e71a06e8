// docker-compose.idp.yml: the compose stack against your own IdP must set what service-env.sh's
// use_own_idp sets natively, start no dev IdP and wait for none (no Docker engine runs here).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseDocument } from 'yaml';
import { repoRoot } from '@fedgate/testing';

const root = repoRoot();
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');

interface Override {
  services: Record<string, { profiles?: string[]; environment?: Record<string, string>; volumes?: string[]; depends_on?: Record<string, unknown> }>;
}

describe('docker-compose.idp.yml', () => {
  const document = parseDocument(read('docker-compose.idp.yml'), { merge: true, customTags: [{ tag: '!override', resolve: (value: unknown) => value }] });
  const override = document.toJS({ maxAliasCount: 100 }) as Override;

  it('parses as YAML', () => {
    assert.deepEqual(document.errors, []);
  });

  it("gives login-service and token-service exactly the variables use_own_idp exports natively, from the idp.sh settings", () => {
    const body = /use_own_idp\(\) \{([\s\S]*?)\n\}/.exec(read('scripts/infra/service-env.sh'))?.[1];
    assert.ok(body, 'use_own_idp in service-env.sh');
    const native = new Set([...body.matchAll(/export (FEDGATE_[A-Z_]+)=/g)].map((m) => m[1]!));
    for (const service of ['login-service', 'token-service', 'authz-service']) {
      assert.deepEqual(new Set(Object.keys(override.services[service]!.environment!)), native, service);
    }
    const idpKeys = new Set(read('scripts/infra/idp.sh').match(/FEDGATE_IDP_[A-Z_]+/g));
    for (const value of Object.values(override.services['login-service']!.environment!)) {
      for (const used of value.match(/FEDGATE_IDP_[A-Z_]+/g) ?? []) assert.ok(idpKeys.has(used), `${used} is a setting idp.sh writes`);
    }
  });

  it('starts no dev IdP, and nothing waits for it', () => {
    assert.deepEqual(override.services['dev-idp']!.profiles, ['dev-idp']);
    for (const service of ['login-service', 'token-service']) {
      const dependsOn = override.services[service]!.depends_on!;
      assert.ok(!('dev-idp' in dependsOn), `${service} does not wait for the dev IdP`);
      assert.deepEqual(Object.keys(dependsOn).sort(), ['kafka', 'migrate', 'tls-init']);
    }
  });

  it('mounts the IdP CA file where FEDGATE_OIDC_CA_FILE points', () => {
    const env = override.services['login-service']!.environment!;
    assert.equal(env.FEDGATE_OIDC_CA_FILE, '${FEDGATE_IDP_CA_FILE:+/fedgate-idp/ca.pem}');
    assert.ok(override.services['login-service']!.volumes!.some((v) => v.endsWith(':/fedgate-idp/ca.pem:ro')));
  });

  it('is how the README says to run compose against your own IdP', () => {
    assert.match(read('README.md'), /docker compose -f docker-compose\.yml -f docker-compose\.idp\.yml/);
  });
});
