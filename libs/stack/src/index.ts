import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { STACK_FILE_PATH, StackFile, StackFileSchema, parseOrThrow } from '@fedgate/contracts';
import { readCertificateAuthorityFile, trustCertificateAuthorities } from './trust';

export * from './trust';

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


/**
 * The CLI's TLS trust: the running stack's CA (and its IdP's CA file, when the stack runs
 * against another IdP), read from the stack file, so no NODE_EXTRA_CA_CERTS is needed.
 * Without a stack file nothing changes (commands that need one say so themselves).
 */
export async function trustStackCertificateAuthorities(from: string = process.cwd()): Promise<void> {
  let stack: StackFile;
  try {
    stack = readStackFile(findStackFile(from));
  } catch (err) {
    if (err instanceof StackNotRunningError) return;
    throw err;
  }
  const files = [stack.ca_cert, ...(stack.idp.ca_file ? [stack.idp.ca_file] : [])];
  await trustCertificateAuthorities(files.map((file) => readCertificateAuthorityFile(file, 'stack file')));
}
