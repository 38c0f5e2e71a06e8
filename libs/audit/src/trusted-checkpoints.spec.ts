import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { CheckpointSigner } from './checkpoint-key';
import { TrustedCheckpointError, parseTrustedCheckpoints } from './trusted-checkpoints';

const signer = new CheckpointSigner(generateKeyPairSync('ed25519').privateKey);
const a = signer.sign(5, 'a'.repeat(64), new Date());
const b = signer.sign(9, 'b'.repeat(64), new Date());
const files: Record<string, string> = {
  'answer.json': JSON.stringify({ public_key: signer.publicKey.pem, key_id: signer.publicKey.keyId, checkpoints: [b, a] }),
  'array.json': JSON.stringify([a, b]),
  'one.json': JSON.stringify(b),
  'checkpoints.jsonl': `${JSON.stringify(a)}\n${JSON.stringify(b)}\n`,
  'empty.json': JSON.stringify({ public_key: 'k', key_id: 'k', checkpoints: [] }),
  'junk.txt': 'not a checkpoint\n',
};
const read = (file: string) => {
  if (!(file in files)) throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
  return files[file]!;
};

describe('parseTrustedCheckpoints', () => {
  it('takes seq:hash, or a saved file in any of its shapes, oldest first', () => {
    assert.deepEqual(parseTrustedCheckpoints(`12:${'c'.repeat(64)}`, read), [{ seq: 12, head_hash: 'c'.repeat(64) }]);
    for (const file of ['answer.json', 'array.json', 'checkpoints.jsonl']) assert.deepEqual(parseTrustedCheckpoints(file, read), [a, b], file);
    assert.deepEqual(parseTrustedCheckpoints('one.json', read), [b]);
  });

  it('refuses anything else with a code', () => {
    for (const spec of ['12:ABC', 'missing.json', 'empty.json', 'junk.txt']) {
      assert.throws(() => parseTrustedCheckpoints(spec, read), (err: unknown) => err instanceof TrustedCheckpointError && err.code === 'invalid_trusted_checkpoint', spec);
    }
  });
});
