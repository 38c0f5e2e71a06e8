import type { AuditCheckpoint } from '@fedgate/contracts';
import type { AuditEventStore } from './audit-event.store';
import type { CheckpointSigner } from './checkpoint-key';

/** SignCheckpoint: signs (seq, head hash, time) of the current head when the chain grew. */
export class SignCheckpoint {
  constructor(private readonly store: AuditEventStore, private readonly signer: CheckpointSigner, private readonly now: () => Date = () => new Date()) {}

  /** The new checkpoint, or null when nothing was added since the last one. */
  async execute(): Promise<AuditCheckpoint | null> {
    const head = await this.store.head();
    if (head === null || head.seq <= (await this.store.lastCheckpointSeq())) return null;
    const checkpoint = this.signer.sign(Number(head.seq), head.hash, this.now());
    await this.store.addCheckpoint(checkpoint);
    return checkpoint;
  }
}
