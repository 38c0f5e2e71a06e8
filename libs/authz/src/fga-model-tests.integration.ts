// Runs the OpenFGA model tests of libs/authz/model/fedgate.fga.yaml (the `fga model test`
// format: model_file, tuples, tests with check and list_objects assertions) against the real
// OpenFGA of the stack. Each test gets a temporary store, deleted afterwards.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { OpenFgaHttpClient, type TupleKey } from '@fedgate/openfga';
import { readStackFile } from '@fedgate/stack';
import { uniqueSuffix } from '@fedgate/testing';
import { modelDirectory, modelToJson } from './authorization-model';

interface ModelTestFile {
  name: string;
  model_file: string;
  tuples?: TupleKey[];
  tests: Array<{
    name: string;
    tuples?: TupleKey[];
    check?: Array<{ user: string; object: string; assertions: Record<string, boolean> }>;
    list_objects?: Array<{ user: string; type: string; assertions: Record<string, string[]> }>;
  }>;
}

const testFile = path.join(modelDirectory(), 'fedgate.fga.yaml');
const spec = parse(readFileSync(testFile, 'utf8')) as ModelTestFile;
const stack = readStackFile();
const fga = new OpenFgaHttpClient({ url: stack.openfga.url, apiKey: stack.openfga.api_key ?? process.env.FEDGATE_OPENFGA_API_KEY ?? '', timeoutMs: 10_000 });

describe(`OpenFGA model tests: ${spec.name}`, { timeout: 120_000 }, () => {
  const model = modelToJson(readFileSync(path.join(path.dirname(testFile), spec.model_file), 'utf8'));

  it('the file has tests with assertions', () => {
    assert.ok(spec.tests.length >= 3);
    assert.ok(spec.tests.every((t) => (t.check?.length ?? 0) + (t.list_objects?.length ?? 0) > 0));
  });

  for (const test of spec.tests) {
    it(test.name, async () => {
      const storeId = await fga.findOrCreateStore(`fedgate-model-test-${uniqueSuffix()}`);
      try {
        const modelId = await fga.writeModel(storeId, model);
        const tuples = [...(spec.tuples ?? []), ...(test.tuples ?? [])];
        for (let i = 0; i < tuples.length; i += 100) await fga.write(storeId, modelId, { writes: tuples.slice(i, i + 100) });
        const failures: string[] = [];
        for (const check of test.check ?? []) {
          for (const [relation, expected] of Object.entries(check.assertions)) {
            const allowed = await fga.check(storeId, modelId, { user: check.user, relation, object: check.object });
            if (allowed !== expected) failures.push(`check ${check.user} ${relation} ${check.object}: ${allowed}, expected ${expected}`);
          }
        }
        for (const list of test.list_objects ?? []) {
          for (const [relation, expected] of Object.entries(list.assertions)) {
            const objects = (await fga.listObjects(storeId, modelId, { user: list.user, relation, type: list.type })).sort();
            if (JSON.stringify(objects) !== JSON.stringify([...expected].sort())) failures.push(`list_objects ${list.user} ${relation} ${list.type}: ${JSON.stringify(objects)}, expected ${JSON.stringify(expected)}`);
          }
        }
        assert.deepEqual(failures, []);
      } finally {
        await fga.deleteStore(storeId);
      }
    });
  }
});
