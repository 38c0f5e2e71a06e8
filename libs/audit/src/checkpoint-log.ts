import { closeSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { AUDIT_CHECKPOINT_GENESIS_HASH, AuditCheckpointSchema, auditCheckpointHash, type AuditCheckpoint } from '@fedgate/contracts';
import { checkpointSignatureValid, type CheckpointPublicKey } from './checkpoint-key';

/** The checkpoint log outside the database cannot be read, or is not one chain of our checkpoints. */
export class CheckpointLogError extends Error {
  readonly code = 'checkpoint_log_invalid';
}

/** The Kafka topic of checkpoints (AUDIT_CHECKPOINT_TOPIC), as the log needs it. */
export interface CheckpointTopic {
  /** Every checkpoint on the topic signed with `keyId`, oldest first. */
  readAll(keyId: string): Promise<AuditCheckpoint[]>;
  /** Resolves once every checkpoint is acknowledged by all in-sync replicas. */
  publish(checkpoints: readonly AuditCheckpoint[]): Promise<void>;
}

/** The checkpoint file beside the signing key: one JSON checkpoint per line, only ever appended to. */
export class CheckpointFile {
  constructor(readonly file: string) {}

  /** The file beside a signing key file. */
  static besideKey(keyFile: string): CheckpointFile {
    return new CheckpointFile(path.join(path.dirname(keyFile), 'checkpoints.jsonl'));
  }

  /** Its checkpoints, oldest first; null when there is no file. */
  read(): AuditCheckpoint[] | null {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new CheckpointLogError(`cannot read ${this.file}: ${(err as Error).message}`);
    }
    // a last line without its newline was cut by a crash mid-append: it was never acknowledged
    const lines = text.split('\n').slice(0, -1);
    return lines.map((line, i) => {
      const parsed = AuditCheckpointSchema.safeParse(safeJson(line));
      if (!parsed.success) throw new CheckpointLogError(`${this.file} line ${i + 1} is not a checkpoint`);
      return parsed.data;
    });
  }

  /** Appends with O_APPEND (mode 0600) and fsyncs before returning. */
  append(checkpoints: readonly AuditCheckpoint[]): void {
    if (checkpoints.length === 0) return;
    mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const fd = openSync(this.file, 'a+', 0o600);
    try {
      // a line cut off by a crash mid-append was never acknowledged: it goes before the next line is written
      if (fstatSync(fd).size > 0) {
        const text = readFileSync(this.file, 'utf8');
        if (!text.endsWith('\n')) ftruncateSync(fd, Buffer.byteLength(text.slice(0, text.lastIndexOf('\n') + 1)));
      }
      writeSync(fd, checkpoints.map((c) => `${JSON.stringify(c)}\n`).join(''));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}

function safeJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

/**
 * Checks that `checkpoints` are one chain signed with `key`: each signature valid, each
 * prev_checkpoint_hash the hash of the one before (genesis for the first), seqs growing.
 */
export function assertCheckpointChain(checkpoints: readonly AuditCheckpoint[], key: CheckpointPublicKey, where: string): void {
  let prev: AuditCheckpoint | null = null;
  for (const checkpoint of checkpoints) {
    if (!checkpointSignatureValid(checkpoint, key)) throw new CheckpointLogError(`${where}: checkpoint at seq ${checkpoint.seq} is not signed by key ${key.keyId}`);
    const expected = prev === null ? AUDIT_CHECKPOINT_GENESIS_HASH : auditCheckpointHash(prev);
    if (checkpoint.prev_checkpoint_hash !== expected || (prev !== null && checkpoint.seq <= prev.seq)) {
      throw new CheckpointLogError(`${where}: checkpoint at seq ${checkpoint.seq} does not follow the one before it`);
    }
    prev = checkpoint;
  }
}

/**
 * The signed checkpoints kept where a database writer cannot reach them (the CloudTrail digest
 * files of this log): the append-only file beside the signing key, and the Kafka topic that never
 * deletes. The file is the signer's working copy; when it is missing it is recovered from the
 * topic, and checkpoints the topic has not acknowledged yet are published again by `sync()`.
 *
 * One signing process per log: the file is not locked against a second writer.
 */
export class ExternalCheckpoints {
  private list: AuditCheckpoint[] | null = null;
  /** How many of `list` the topic is known to hold. */
  private published = 0;
  private topicCompared = false;

  constructor(
    private readonly file: CheckpointFile,
    private readonly topic: CheckpointTopic,
    private readonly key: CheckpointPublicKey,
  ) {}

  /** The file (or its recovery) is loaded: the signer may sign. */
  get loaded(): boolean {
    return this.list !== null;
  }

  /** Every checkpoint, oldest first (none before `sync()` has loaded them). */
  all(): readonly AuditCheckpoint[] {
    return this.list ?? [];
  }

  last(): AuditCheckpoint | null {
    return this.list?.at(-1) ?? null;
  }

  /** Checkpoints signed but not yet on the topic (Kafka was down). */
  get unpublished(): number {
    return (this.list?.length ?? 0) - this.published;
  }

  /**
   * Loads the file, or recovers it from the topic when missing; compares it with the topic once
   * (each must be a prefix of the other: the longer one completes the shorter); publishes what the
   * topic lacks. Throws while Kafka is needed and down (call again later) or when the two disagree.
   */
  async sync(): Promise<void> {
    if (this.list === null) {
      const fromFile = this.file.read();
      if (fromFile === null) {
        const fromTopic = await this.topic.readAll(this.key.keyId);
        assertCheckpointChain(fromTopic, this.key, 'checkpoint topic');
        this.file.append(fromTopic);
        this.list = fromTopic;
        this.published = fromTopic.length;
        this.topicCompared = true;
      } else {
        assertCheckpointChain(fromFile, this.key, this.file.file);
        this.list = fromFile;
      }
    }
    if (!this.topicCompared) {
      const onTopic = await this.topic.readAll(this.key.keyId);
      assertCheckpointChain(onTopic, this.key, 'checkpoint topic');
      const common = Math.min(onTopic.length, this.list.length);
      for (let i = 0; i < common; i++) {
        if (auditCheckpointHash(onTopic[i]!) !== auditCheckpointHash(this.list[i]!)) {
          throw new CheckpointLogError(`the checkpoint file and the checkpoint topic disagree at seq ${this.list[i]!.seq}`);
        }
      }
      if (onTopic.length > this.list.length) {
        // the file lost its tail (restored from an old copy): the topic completes it
        this.file.append(onTopic.slice(this.list.length));
        this.list = onTopic;
      }
      this.published = common;
      this.topicCompared = true;
    }
    if (this.published < this.list.length) {
      await this.topic.publish(this.list.slice(this.published));
      this.published = this.list.length;
    }
  }

  /** Keeps a newly signed checkpoint: the file first (fsynced), then the topic (or at the next sync). */
  async append(checkpoint: AuditCheckpoint): Promise<void> {
    if (this.list === null) throw new CheckpointLogError('the checkpoint log is not loaded');
    this.file.append([checkpoint]);
    this.list.push(checkpoint);
    await this.sync();
  }
}
