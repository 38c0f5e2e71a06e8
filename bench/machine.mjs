// Whole-machine CPU figures for the benches (Linux /proc/stat), shared by bench/verify and bench/check.
import { readFileSync } from 'node:fs';

/** Idle, steal and total jiffies of all CPUs so far (undefined where /proc/stat is missing). */
export function machineTicks() {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    return { idle: cpu[3] + cpu[4], steal: cpu[7] ?? 0, total: cpu.reduce((a, b) => a + b, 0) };
  } catch {
    return undefined;
  }
}

/** Waits (at most 120 s) until the whole machine is under 20% busy for a second. */
export async function settle() {
  const t0 = performance.now();
  let busy = 100;
  while (performance.now() - t0 < 120_000) {
    const a = machineTicks();
    await new Promise((r) => setTimeout(r, 1000));
    const b = machineTicks();
    if (!a || !b) break;
    busy = Math.round((1 - (b.idle - a.idle) / (b.total - a.total)) * 100);
    if (busy < 20) break;
  }
  return { seconds: (performance.now() - t0) / 1000, busy };
}
