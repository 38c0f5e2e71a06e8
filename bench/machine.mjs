// Whole-machine CPU figures for the benches (Linux /proc/stat), shared by bench/verify and bench/check.
import { readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

// The worktree whose stack the benches load: every process of it runs in it (services, PostgreSQL
// in its data directory, OpenFGA, Kafka). Other stacks on the same machine are not this one.
const STACK_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// ...except PostgreSQL when the state dir is private to root: scripts/infra/postgres.sh then keeps
// the cluster under /var/lib/postgresql and links it from the state dir. Its processes are ours.
const STACK_PG_DATA = (() => {
  try {
    return realpathSync(path.join(process.env.FEDGATE_STATE_DIR ?? path.join(STACK_ROOT, '.fedgate'), 'data', 'postgres'));
  } catch {
    return undefined;
  }
})();

/** Idle, steal and total jiffies of all CPUs so far (undefined where /proc/stat is missing). */
export function machineTicks() {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    return { idle: cpu[3] + cpu[4], steal: cpu[7] ?? 0, total: cpu.reduce((a, b) => a + b, 0) };
  } catch {
    return undefined;
  }
}

/** ns a thread has run on a CPU and waited on a run queue (/proc/PID/task/TID/schedstat); undefined once it ended. */
export function threadSchedstat(pid, tid = pid) {
  try {
    const [run, wait] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ').map(Number);
    return { run, wait };
  } catch {
    return undefined;
  }
}

/**
 * Waits (at most 120 s) until this stack (its services, PostgreSQL, OpenFGA, Kafka; not other
 * stacks on the shared machine, nor this bench) uses under 30% of one core (what it takes idle: Kafka clients, the paced chain check) for a second: the
 * backlog of the phases before (outbox relays, the audit-service's ingest) is digested.
 * With `pending` (outboxBacklog's), also until no event waits unpublished in the outbox.
 * `busy`: the whole machine's % in that last second, for the record; `split`: that second's cpuSplit.
 */
export async function settle({ pending } = {}) {
  const t0 = performance.now();
  let busy = 100;
  let stack = 100;
  let split = new Map();
  let waiting = 0;
  while (performance.now() - t0 < 120_000) {
    const a = machineTicks();
    const parts = cpuByPart();
    await new Promise((r) => setTimeout(r, 1000));
    const b = machineTicks();
    if (!a || !b || !parts) break;
    busy = Math.round((1 - (b.idle - a.idle) / (b.total - a.total)) * 100);
    split = cpuSplit(parts, cpuByPart(), 1);
    stack = Math.round([...split].filter(([part]) => !['outside this stack', 'limit server', 'bench'].includes(part)).reduce((sum, [, p]) => sum + p, 0));
    // a quiet stack may still hold events in the outbox (audit-only ones wait there up to gatherMs)
    waiting = pending ? await pending() : 0;
    if (stack < 30 && waiting === 0) return { seconds: (performance.now() - t0) / 1000, busy, stack, split, waiting, settled: true };
  }
  // gave up (or could not read /proc): whoever reads the phase after it must be told
  return { seconds: (performance.now() - t0) / 1000, busy, stack, split, waiting, settled: false };
}

/** The `settle` line of a bench: how long it waited for quiet, `after` what, and whether it gave up. */
export function settleLine(settled, after = '') {
  const gaveUp = settled.settled ? '' : `; it did not go quiet (${settled.waiting} events waiting in the outbox): the phases after this ran on a busy stack`;
  return `settle    waited ${settled.seconds.toFixed(0)} s for the machine to go quiet${after} (last second: this stack ${settled.stack}% of a core, the machine ${settled.busy}% busy)${gaveUp}`;
}

/**
 * How many events wait in the stack's outbox, unpublished (for `settle`'s `pending`), on a small
 * pg pool (the repository's `pg`); `close()` ends it.
 */
export function outboxBacklog(databaseUrl) {
  const { Pool } = createRequire(import.meta.url)('pg');
  const pool = new Pool({ connectionString: databaseUrl, max: 1 });
  return {
    pending: async () => (await pool.query('SELECT count(*)::int AS n FROM outbox_event WHERE published_at IS NULL')).rows[0].n,
    close: () => pool.end(),
  };
}

/**
 * CPU jiffies so far of every process, with the part of the stack it belongs to (openfga,
 * postgres by database, kafka, each Fedgate service by its dist path, this bench, the limit
 * servers it forked, other). A process whose working directory is outside this worktree is
 * another stack's or another developer's on the shared machine: `outside this stack`.
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
      const ppid = Number(fields[1]);
      processes.set(pid, { part: ownPart(Number(pid), ppid) ?? partOf(Number(pid), readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')), ticks });
    } catch {
      // the process exited while we read it
    }
  }
  return processes;
}

/** The bench, its limit servers, or another stack's process; undefined for this stack's own. */
function ownPart(pid, ppid) {
  if (pid === process.pid) return 'bench';
  if (ppid === process.pid) return 'limit server';
  let cwd;
  try {
    cwd = readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return undefined; // not ours to read: counted by its name
  }
  const inside = (root) => root !== undefined && (cwd === root || cwd.startsWith(`${root}/`));
  return inside(STACK_ROOT) || inside(STACK_PG_DATA) ? undefined : 'outside this stack';
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
