import type { IntegrityResponse, TrustedHead } from '@fedgate/contracts';
import type { AuditClient } from './audit-client';
import { ChainVerifier } from './chain-verifier';
import { parseCheckpointPublicKey, type CheckpointPublicKey } from './checkpoint-key';

export class UntrustedKeyError extends Error {
  readonly code = 'untrusted_key';
}

/**
 * Verifies the log outside the service: the whole export (oldest first) is re-hashed here and
 * every checkpoint checked against the service's public key — or against `pinnedKey`, so a
 * service that was swapped along with its key is caught too. `trusted`: heads the auditor kept
 * from earlier (any earlier checkpoint): the log must still extend each of them, which catches a
 * truncation or a rewrite even when every hash and every served checkpoint was made consistent.
 */
export async function verifyExportedChain(client: AuditClient, pinnedKey?: CheckpointPublicKey, trusted: readonly TrustedHead[] = []): Promise<IntegrityResponse> {
  const { public_key, key_id, checkpoints } = await client.checkpoints();
  const served = parseCheckpointPublicKey(public_key);
  if (served.keyId !== key_id) throw new UntrustedKeyError('the served key id does not match the served public key');
  if (pinnedKey && pinnedKey.keyId !== served.keyId) throw new UntrustedKeyError(`the service signs with key ${served.keyId}, not the pinned key ${pinnedKey.keyId}`);
  const verifier = new ChainVerifier(pinnedKey ?? served, checkpoints, undefined, trusted.length > 0 ? { heads: trusted, requireStored: false } : undefined);
  for await (const record of client.export({})) if (!verifier.add(record)) break;
  return verifier.finish();
}
