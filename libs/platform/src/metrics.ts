import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { shareRegistryWithPrimary } from './cluster';

/** One Prometheus registry per process, labelled with the service name. */
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  /** Events Kafka refused for good, moved by the outbox relay to the dead-letter table (alert on any). */
  readonly outboxDeadLetters: Counter<'topic'>;

  constructor(serviceName: string) {
    this.registry.setDefaultLabels({ service: serviceName });
    collectDefaultMetrics({ register: this.registry });
    this.httpRequests = new Counter({
      name: 'fedgate_http_requests_total',
      help: 'HTTP requests answered, by route and status',
      labelNames: ['method', 'route', 'status'],
      registers: [this.registry],
    });
    this.httpDuration = new Histogram({
      name: 'fedgate_http_request_duration_seconds',
      help: 'HTTP request duration',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [this.registry],
    });
    this.outboxDeadLetters = new Counter({
      name: 'fedgate_outbox_dead_letters_total',
      help: 'Events Kafka refused for good (too large, invalid), moved to the outbox_dead_letter table',
      labelNames: ['topic'],
      registers: [this.registry],
    });
    shareRegistryWithPrimary(this.registry);
  }

  /** One answered request; `route` is the matched route pattern, never the raw path (ids must not explode label cardinality). */
  recordHttp(method: string, route: string, status: number, seconds: number): void {
    const labels = { method, route, status: String(status) };
    this.httpDuration.observe(labels, seconds);
    this.httpRequests.inc(labels);
  }
}
