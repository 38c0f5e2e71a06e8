import { readFileSync } from 'node:fs';
import { AuditCheckpointListResponseSchema, AuditCheckpointSchema, type TrustedHead } from '@fedgate/contracts';

export class TrustedCheckpointError extends Error {
  readonly code = 'invalid_trusted_checkpoint';
}

const SEQ_HASH = /^(\d+):([0-9a-f]{64})$/;

/**
 * What `fedgate audit verify --trusted-checkpoint` accepts: `seq:head_hash` written down
 * earlier, or a file saved by `fedgate audit checkpoints --out` (the API answer), a JSON array of
 * checkpoints, one checkpoint, or the service's checkpoints.jsonl (one per line). Oldest first.
 */
export function parseTrustedCheckpoints(spec: string, read: (file: string) => string = (file) => readFileSync(file, 'utf8')): TrustedHead[] {
  const pair = SEQ_HASH.exec(spec);
  if (pair) return [{ seq: Number(pair[1]), head_hash: pair[2]! }];
  let text: string;
  try {
    text = read(spec);
  } catch (err) {
    throw new TrustedCheckpointError(`'${spec}' is neither seq:hash (64 lower-case hex digits) nor a readable file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const heads = checkpointsIn(text);
  if (heads === null || heads.length === 0) throw new TrustedCheckpointError(`${spec} holds no checkpoint (expected the output of fedgate audit checkpoints --out, or JSON lines of checkpoints)`);
  return heads.sort((a, b) => a.seq - b.seq);
}

function checkpointsIn(text: string): TrustedHead[] | null {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // JSON lines
    const lines = text.split('\n').filter((l) => l.trim() !== '');
    const parsed = lines.map((l) => {
      try {
        return AuditCheckpointSchema.safeParse(JSON.parse(l));
      } catch {
        return { success: false as const };
      }
    });
    return parsed.every((p) => p.success) ? parsed.map((p) => p.data!) : null;
  }
  const list = AuditCheckpointListResponseSchema.safeParse(json);
  if (list.success) return list.data.checkpoints;
  const array = AuditCheckpointSchema.array().safeParse(json);
  if (array.success) return array.data;
  const one = AuditCheckpointSchema.safeParse(json);
  return one.success ? [one.data] : null;
}
