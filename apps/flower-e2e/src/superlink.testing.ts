import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { runProjectScript } from '@fedgate/testing';

export interface Result {
  code: number;
  out: string;
}

/** A command's exit code and its output (stdout then stderr); never throws. */
export function exec(file: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd: options.cwd, env: options.env ?? process.env, timeout: options.timeoutMs ?? 60_000, maxBuffer: 8 << 20 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

/**
 * The stack's SuperLink of flwr `version` (scripts/infra/superlink.sh, with `settings` such as
 * SUPERLINK_EXECUTOR in its environment), in place of whichever ran: one SuperLink at a time on
 * the stack's ports. Returns the path of that release's venv (the real `flwr` CLI).
 */
export function startSuperlink(version: string, settings: Record<string, string> = {}): string {
  const saved = { ...process.env };
  Object.assign(process.env, { FEDGATE_FLWR_VERSION: version, ...settings });
  try {
    const ensured = runProjectScript('scripts/infra/flwr.sh', ['ensure'], 600_000);
    assert.equal(ensured.status, 0, ensured.stderr);
    runProjectScript('scripts/infra/superlink.sh', ['stop']);
    const start = runProjectScript('scripts/infra/superlink.sh', ['start'], 300_000);
    assert.equal(start.status, 0, `superlink start (flwr ${version}):\n${start.stderr}`);
    return ensured.stdout.trim().split('\n').pop()!;
  } finally {
    for (const name of ['FEDGATE_FLWR_VERSION', ...Object.keys(settings)]) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  }
}
