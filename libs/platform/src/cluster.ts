import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';

/**
 * Several workers of one service behind one port (node:cluster): a service whose work is
 * CPU-bound per request (the token-service's signature checks) uses every core of the host.
 * The primary only supervises: it starts the workers, starts a new one when one dies, passes
 * SIGTERM/SIGINT on, and answers the workers' requests for cluster-wide metrics.
 */

const METRICS_REQUEST = 'fedgate:cluster-metrics-request';
const METRICS_ANSWER = 'fedgate:cluster-metrics-answer';
/** A worker that dies this soon after its start counts as a failed start, not a crash in service. */
const FAILED_START_MS = 10_000;
const MAX_FAILED_STARTS = 3;

interface MetricsRequest {
  type: typeof METRICS_REQUEST;
  requestId: number;
}
interface MetricsAnswer {
  type: typeof METRICS_ANSWER;
  requestId: number;
  text?: string;
  error?: string;
}

function logLine(level: string, serviceName: string, msg: string, extra: Record<string, unknown> = {}): void {
  console.error(JSON.stringify({ level, time: Date.now(), service: serviceName, pid: process.pid, msg, ...extra }));
}

/** True in a worker process that the primary of `runClustered` started. */
export function isClusterWorker(): boolean {
  return cluster.isWorker;
}

/**
 * Runs `startWorker` in `workers` processes when workers > 1 (in this process otherwise).
 * Returns in the primary after forking; the workers run `startWorker`.
 */
export function runClustered(serviceName: string, workers: number, startWorker: () => void): void {
  if (workers <= 1 || cluster.isWorker) {
    startWorker();
    return;
  }
  const aggregator = new AggregatorRegistry();
  const startedAt = new Map<number, number>();
  let failedStarts = 0;
  let stopping = false;

  const fork = (): Worker => {
    const worker = cluster.fork();
    startedAt.set(worker.id, Date.now());
    worker.on('message', (message: MetricsRequest) => {
      if (message?.type !== METRICS_REQUEST) return;
      aggregator
        .clusterMetrics()
        .then((text) => worker.send({ type: METRICS_ANSWER, requestId: message.requestId, text } satisfies MetricsAnswer))
        .catch((err: Error) => worker.send({ type: METRICS_ANSWER, requestId: message.requestId, error: err.message } satisfies MetricsAnswer));
    });
    return worker;
  };

  cluster.on('exit', (worker, code, signal) => {
    const lived = Date.now() - (startedAt.get(worker.id) ?? 0);
    startedAt.delete(worker.id);
    if (stopping) {
      // exit code 0 after a requested stop, 1 (set below) after giving up on failing workers
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit();
      return;
    }
    // a worker that cannot even start (bad settings, port taken) would only fail again
    if (lived < FAILED_START_MS && ++failedStarts >= MAX_FAILED_STARTS) {
      logLine('fatal', serviceName, 'workers keep failing at start; stopping', { code, signal });
      stopping = true;
      for (const other of Object.values(cluster.workers ?? {})) other?.process.kill('SIGTERM');
      process.exitCode = 1;
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(1);
      return;
    }
    logLine('error', serviceName, 'worker died; starting another', { worker_pid: worker.process.pid, code, signal });
    fork();
  });

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logLine('info', serviceName, 'stopping workers', { signal });
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  logLine('info', serviceName, 'starting workers', { workers });
  for (let i = 0; i < workers; i++) fork();
}

let nextRequestId = 0;

/**
 * The metrics text to serve from /metrics: this process's registry, or in a cluster worker
 * the sum over every worker (asked of the primary), so a scrape sees the whole service.
 */
export async function metricsText(registry: Registry): Promise<string> {
  if (!cluster.isWorker || !process.send) return registry.metrics();
  const requestId = ++nextRequestId;
  return new Promise<string>((resolve, reject) => {
    const onMessage = (message: MetricsAnswer) => {
      if (message?.type !== METRICS_ANSWER || message.requestId !== requestId) return;
      clearTimeout(timer);
      process.off('message', onMessage);
      if (message.error !== undefined) reject(new Error(message.error));
      else resolve(message.text ?? '');
    };
    const timer = setTimeout(() => {
      process.off('message', onMessage);
      reject(new Error('cluster metrics: the primary did not answer'));
    }, 5000);
    process.on('message', onMessage);
    process.send!({ type: METRICS_REQUEST, requestId } satisfies MetricsRequest);
  });
}

/** In a worker, the registry the primary collects from when it aggregates. */
export function shareRegistryWithPrimary(registry: Registry): void {
  if (!cluster.isWorker) return;
  AggregatorRegistry.setRegistries([registry]);
  // prom-client adds the worker's answering listener only when an AggregatorRegistry is made
  new AggregatorRegistry();
}
