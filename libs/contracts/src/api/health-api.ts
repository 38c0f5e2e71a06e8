import { z } from 'zod';

/** `GET /healthz` — the process is alive. */
export const HealthResponseSchema = z.object({ status: z.literal('ok'), service: z.string() });
export type HealthResponse = z.infer<typeof HealthResponseSchema>;

/** `GET /readyz` — 200 when every dependency answers; 503 `dependency_unavailable` naming the ones that do not. */
export const ReadinessResponseSchema = z.object({
  status: z.literal('ready'),
  service: z.string(),
  checks: z.record(z.string(), z.enum(['up', 'down'])),
});
export type ReadinessResponse = z.infer<typeof ReadinessResponseSchema>;
