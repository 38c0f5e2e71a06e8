// Whole-machine CPU figures for the benches (Linux /proc/stat), shared by bench/verify and bench/check.
import { readdirSync, readFileSync } from 'node:fs';

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

/**
 * CPU jiffies so far of every process, with the part of the stack it belongs to (openfga,
 * postgres by database, kafka, each Fedgate service by its dist path, this bench, other).
 */
export function cpuByPart() {
  const processes = new Map();
  let entries;
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  for (const pid of entries) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = Number(fields[11]) + Number(fields[12]);
      if (ticks === 0) continue;
      processes.set(pid, { part: partOf(Number(pid), readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')), ticks });
    } catch {
      // the process exited while we read it
    }
  }
  return processes;
}

function partOf(pid, cmdline) {
  if (pid === process.pid) return 'bench';
  const service = /\/dist\/apps\/([a-z-]+)\//.exec(cmdline);
  if (service) return service[1];
  if (cmdline.startsWith('postgres: ')) return / openfga /.test(cmdline) ? 'postgres (openfga db)' : 'postgres';
  if (/\/postgres\b/.test(cmdline)) return 'postgres';
  if (/\bopenfga\b/.test(cmdline) && !cmdline.startsWith('postgres')) return 'openfga';
  if (/kafka/.test(cmdline) && /\bjava\b/.test(cmdline)) return 'kafka';
  return 'other';
}

/**
 * CPU % (100 = one core) per part between two cpuByPart() snapshots, as a Map. A process
 * started in between counts whole; one that exited is missed.
 */
export function cpuSplit(before, after, seconds) {
  const byPart = new Map();
  if (!before || !after) return byPart;
  for (const [pid, { part, ticks }] of after) {
    const earlier = before.get(pid);
    const delta = earlier && earlier.part === part ? ticks - earlier.ticks : ticks;
    byPart.set(part, (byPart.get(part) ?? 0) + (delta / 100 / seconds) * 100);
  }
  return byPart;
}

/** "186% in all: openfga 60%, postgres 13%, …" for a cpuSplit() Map. */
export function describeCpuSplit(split, minPercent = 2) {
  if (split.size === 0) return 'unavailable (no /proc)';
  const total = [...split.values()].reduce((sum, p) => sum + p, 0);
  const shown = [...split].filter(([, p]) => p >= minPercent).sort((a, b) => b[1] - a[1]);
  return `${Math.round(total)}% in all: ${shown.map(([part, p]) => `${part} ${Math.round(p)}%`).join(', ')}`;
}
