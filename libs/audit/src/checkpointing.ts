import { createCloudEvent, type FedgateEvent } from '@fedgate/contracts';
import type { AuditEventStore } from './audit-event.store';
import type { CheckpointSigner } from './checkpoint-key';
import { CheckpointFile, ExternalCheckpoints, type CheckpointTopic } from './checkpoint-log';
import { SignCheckpoint, type ChainBreach } from './sign-checkpoint.use-case';
import { VerifyIntegrity } from './verify-integrity.use-case';

/** The signer and the verifier of one log, both held to the checkpoints kept outside the database. */
export interface Checkpointing {
  external: ExternalCheckpoints;
  sign: SignCheckpoint;
  verify: VerifyIntegrity;
}

/**
 * Wires them: the checkpoint file beside the signing key and the checkpoint topic (libs/kafka's
 * KafkaCheckpointTopic in the service: this lib stays free of Kafka, the CLI loads it); the verifier
 * checks the log against those checkpoints and reports the signer's refusals; the signer's first
 * checkpoint rests on a full verification.
 */
export function createCheckpointing(store: AuditEventStore, signer: CheckpointSigner, keyFile: string, topic: CheckpointTopic): Checkpointing {
  const external = new ExternalCheckpoints(CheckpointFile.besideKey(keyFile), topic, signer.publicKey);
  let sign: SignCheckpoint | null = null;
  const verify = new VerifyIntegrity(store, signer.publicKey, undefined, { all: () => external.all(), breach: () => sign?.currentBreach ?? null });
  sign = new SignCheckpoint(store, signer, external, () => verify.execute({ full: true }));
  return { external, sign, verify };
}

/** The alert the audit service sends when it refuses to sign (event type fedgate.audit.integrity_failed.v1). */
export function integrityAlertOf(breach: ChainBreach, keyId: string): FedgateEvent {
  return createCloudEvent({
    type: 'fedgate.audit.integrity_failed.v1',
    source: '/fedgate/audit-service',
    data: {
      problem: breach.problem,
      first_bad_seq: breach.first_bad_seq,
      ...(breach.truncated_at === undefined ? {} : { truncated_at: breach.truncated_at }),
      key_id: keyId,
      checkpoint: breach.checkpoint,
      head: breach.head,
    },
  });
}
