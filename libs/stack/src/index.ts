import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { STACK_FILE_PATH, StackFile, StackFileSchema, parseOrThrow } from '@fedgate/contracts';

export class StackNotRunningError extends Error {
  readonly code = 'stack_not_running';
}

/**
 * Where the running local stack describes itself: $FEDGATE_STACK_FILE, else
 * .fedgate/stack.json in the first folder above `from` that has one.
 */
export function findStackFile(from: string = process.cwd()): string {
  if (process.env.FEDGATE_STACK_FILE) return process.env.FEDGATE_STACK_FILE;
  let dir = path.resolve(from);
  for (;;) {
    const candidate = path.join(dir, STACK_FILE_PATH);
    if (existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new StackNotRunningError(`no ${STACK_FILE_PATH} found: start the stack with \`npm run stack\``);
    dir = parent;
  }
}

/** Reads and validates the stack file. */
export function readStackFile(file: string = findStackFile()): StackFile {
  if (!existsSync(file)) throw new StackNotRunningError(`${file} does not exist: start the stack with \`npm run stack\``);
  return parseOrThrow(StackFileSchema, JSON.parse(readFileSync(file, 'utf8')));
}
