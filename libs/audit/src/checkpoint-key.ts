import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { auditCheckpointMessage, auditKeyId, type AuditCheckpoint } from '@fedgate/contracts';

export class SigningKeyError extends Error {
  readonly code = 'invalid_configuration';
}

/** The public half of the checkpoint key: what verifiers need. */
export interface CheckpointPublicKey {
  key: KeyObject;
  keyId: string;
  /** SPKI PEM, as served by /v1/integrity. */
  pem: string;
}

export function checkpointPublicKey(key: KeyObject): CheckpointPublicKey {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  if (publicKey.asymmetricKeyType !== 'ed25519') throw new SigningKeyError('the checkpoint key must be an Ed25519 key');
  return { key: publicKey, keyId: auditKeyId(publicKey.export({ type: 'spki', format: 'der' })), pem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/** Parses an SPKI PEM public key (e.g. pinned by `fedgate audit verify --public-key`). */
export function parseCheckpointPublicKey(pem: string): CheckpointPublicKey {
  try {
    return checkpointPublicKey(createPublicKey(pem));
  } catch (err) {
    throw new SigningKeyError(`not an Ed25519 public key: ${(err as Error).message}`);
  }
}

/** Signs checkpoints with the audit service's own Ed25519 key. */
export class CheckpointSigner {
  readonly publicKey: CheckpointPublicKey;

  constructor(private readonly privateKey: KeyObject) {
    this.publicKey = checkpointPublicKey(privateKey);
  }

  /** `prevCheckpointHash`: auditCheckpointHash of the checkpoint signed before (chains the checkpoints). */
  sign(seq: number, headHash: string, time: Date, prevCheckpointHash?: string): AuditCheckpoint {
    const unsigned = { seq, head_hash: headHash, time: time.toISOString(), key_id: this.publicKey.keyId, ...(prevCheckpointHash === undefined ? {} : { prev_checkpoint_hash: prevCheckpointHash }) };
    return { ...unsigned, signature: sign(null, auditCheckpointMessage(unsigned), this.privateKey).toString('base64url') };
  }
}

/** Whether a checkpoint was signed by `publicKey` (key id and Ed25519 signature). */
export function checkpointSignatureValid(checkpoint: AuditCheckpoint, publicKey: CheckpointPublicKey): boolean {
  if (checkpoint.key_id !== publicKey.keyId) return false;
  try {
    return verify(null, auditCheckpointMessage(checkpoint), publicKey.key, Buffer.from(checkpoint.signature, 'base64url'));
  } catch {
    return false;
  }
}

/**
 * The service's signing key from `file` (PKCS#8 PEM); created at first start with mode
 * 0600 in a 0700 directory. A key file others may read is refused: whoever can read it
 * can forge checkpoints.
 */
export function loadOrCreateCheckpointSigner(file: string): CheckpointSigner {
  try {
    const { privateKey } = generateKeyPairSync('ed25519');
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    // 'wx': never overwrite; when two instances start together, the first one's key wins
    writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new SigningKeyError(`cannot create the checkpoint key ${file}: ${(err as Error).message}`);
  }
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0) throw new SigningKeyError(`${file} is readable by others (mode ${mode.toString(8)}); chmod 600 it`);
  try {
    return new CheckpointSigner(createPrivateKey(readFileSync(file)));
  } catch (err) {
    throw new SigningKeyError(`${file} is not a usable Ed25519 private key: ${(err as Error).message}`);
  }
}
