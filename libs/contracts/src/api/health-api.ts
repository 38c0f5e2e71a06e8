import { z } from 'zod';

/** `GET /healthz` — the process is alive. */
export const HealthResponseSchema = z.object({ status: z.literal('ok') });
export type HealthResponse = z.infer<typeof HealthResponseSchema>;

/** `GET /readyz` — 200 when every dependency answers, 503 otherwise; `checks` says which failed. */
export const ReadinessResponseSchema = z.object({
  status: z.enum(['ready', 'not_ready']),
  checks: z.record(z.string(), z.object({ ok: z.boolean(), detail: z.string().optional() })),
});
export type ReadinessResponse = z.infer<typeof ReadinessResponseSchema>;
