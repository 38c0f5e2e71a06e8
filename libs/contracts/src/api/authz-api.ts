import { z } from 'zod';
import { FlwrAidSchema } from '../accounts';
import {
  ConsistencyTokenSchema,
  DecisionIdSchema,
  ObjectRefStringSchema,
  RelationSchema,
  ServiceNameSchema,
  relationAppliesTo,
  tryParseObjectRef,
} from '../authorization';
import { RunIdInputSchema, RunIdSchema, RunMemberRoleSchema, ServiceRoleSchema } from '../runs';

/** authz-service DTOs (API.md § authz-service). */

/**
 * `POST /v1/check` — e.g. `{"flwr_aid":"alice","relation":"has_access","object":"service:superlink"}`.
 * The relation must exist on the object's type (`has_access` on a run is a malformed request, not a deny).
 */
export const CheckRequestSchema = z
  .object({
    flwr_aid: FlwrAidSchema,
    relation: RelationSchema,
    object: ObjectRefStringSchema,
    consistency_token: ConsistencyTokenSchema.optional(),
  })
  .superRefine((check, context) => {
    const parsed = tryParseObjectRef(check.object);
    if (parsed.ok && !relationAppliesTo(check.relation, parsed.ref.type)) {
      context.addIssue({
        code: 'custom',
        path: ['relation'],
        message: `relation '${check.relation}' does not exist on type '${parsed.ref.type}'`,
      });
    }
  });
export type CheckRequest = z.infer<typeof CheckRequestSchema>;

export const CheckResponseSchema = z.object({
  allowed: z.boolean(),
  decision_id: DecisionIdSchema,
});
export type CheckResponse = z.infer<typeof CheckResponseSchema>;

/** Upper bound of one batch, so a single call cannot fan out unboundedly to OpenFGA. */
export const BATCH_CHECK_MAX = 100;

/** `POST /v1/check/batch` — results come back in the same order. */
export const BatchCheckRequestSchema = z.object({
  checks: z.array(CheckRequestSchema).min(1).max(BATCH_CHECK_MAX),
  /** Applies to every check that does not carry its own. */
  consistency_token: ConsistencyTokenSchema.optional(),
});
export type BatchCheckRequest = z.infer<typeof BatchCheckRequestSchema>;

export const BatchCheckResponseSchema = z.object({
  results: z.array(CheckResponseSchema),
});
export type BatchCheckResponse = z.infer<typeof BatchCheckResponseSchema>;

/** Every write answers one (API.md: "Every write ... answers a consistency_token"). */
export const WriteResponseSchema = z.object({
  consistency_token: ConsistencyTokenSchema,
});
export type WriteResponse = z.infer<typeof WriteResponseSchema>;

/** `POST /v1/runs` — run_id may arrive as a JSON integer or a string; it is normalised to a string. */
export const RegisterRunRequestSchema = z.object({
  run_id: RunIdInputSchema,
  flwr_aid: FlwrAidSchema,
  federation: z.string().min(1).max(256).optional(),
  /** The SuperLink service the run belongs to; authz-service defaults it to its configured service. */
  service: ServiceNameSchema.optional(),
});
export type RegisterRunRequest = z.infer<typeof RegisterRunRequestSchema>;

/** 201 answer (also 200 when the same owner registers again: idempotent). */
export const RegisterRunResponseSchema = z.object({
  run_id: RunIdSchema,
  owner: FlwrAidSchema,
  consistency_token: ConsistencyTokenSchema,
});
export type RegisterRunResponse = z.infer<typeof RegisterRunResponseSchema>;

/** `GET /v1/runs?flwr_aid=...&consistency_token=...` */
export const ListRunsQuerySchema = z.object({
  flwr_aid: FlwrAidSchema,
  consistency_token: ConsistencyTokenSchema.optional(),
});
export type ListRunsQuery = z.infer<typeof ListRunsQuerySchema>;

/** Why the account may view a listed run: its strongest role, `admin` for a service admin. */
export const LISTED_RUN_ROLES = ['owner', 'operator', 'viewer', 'admin'] as const;
export const ListedRunRoleSchema = z.enum(LISTED_RUN_ROLES);
export type ListedRunRole = z.infer<typeof ListedRunRoleSchema>;

export const ListRunsResponseSchema = z.object({
  runs: z.array(z.object({ run_id: RunIdSchema, role: ListedRunRoleSchema })),
});
export type ListRunsResponse = z.infer<typeof ListRunsResponseSchema>;

/** Path of `PUT|DELETE /v1/runs/{run_id}/members/{flwr_aid}`. */
export const RunMemberParamsSchema = z.object({
  run_id: RunIdSchema,
  flwr_aid: FlwrAidSchema,
});
export type RunMemberParams = z.infer<typeof RunMemberParamsSchema>;

/** Body of `PUT /v1/runs/{run_id}/members/{flwr_aid}`; 403 `forbidden` unless the actor owns the run. */
export const PutRunMemberRequestSchema = z.object({
  role: RunMemberRoleSchema,
  acting_flwr_aid: FlwrAidSchema,
});
export type PutRunMemberRequest = z.infer<typeof PutRunMemberRequestSchema>;

/** Body of `DELETE /v1/runs/{run_id}/members/{flwr_aid}`. */
export const DeleteRunMemberRequestSchema = z.object({
  acting_flwr_aid: FlwrAidSchema,
});
export type DeleteRunMemberRequest = z.infer<typeof DeleteRunMemberRequestSchema>;

/** Path of `PUT|DELETE /v1/services/{service}/members/{flwr_aid}`. */
export const ServiceMemberParamsSchema = z.object({
  service: ServiceNameSchema,
  flwr_aid: FlwrAidSchema,
});
export type ServiceMemberParams = z.infer<typeof ServiceMemberParamsSchema>;

/** Body of `PUT /v1/services/{service}/members/{flwr_aid}` (`member` = has_access); 403 unless a service admin acts. */
export const PutServiceMemberRequestSchema = z.object({
  role: ServiceRoleSchema,
  acting_flwr_aid: FlwrAidSchema,
});
export type PutServiceMemberRequest = z.infer<typeof PutServiceMemberRequestSchema>;

/** Body of `DELETE /v1/services/{service}/members/{flwr_aid}`. */
export const DeleteServiceMemberRequestSchema = z.object({
  acting_flwr_aid: FlwrAidSchema,
});
export type DeleteServiceMemberRequest = z.infer<typeof DeleteServiceMemberRequestSchema>;

/** `POST /v1/admin/rebuild` (`fedgate authz rebuild`): projections wiped and replayed from the ownership topic. */
export const RebuildResponseSchema = z.object({
  /** The projection generation now serving (one more than before). */
  generation: z.number().int().positive(),
  /** Ownership events replayed from the beginning of the topic. */
  replayed_events: z.number().int().nonnegative(),
  tuples_deleted: z.number().int().nonnegative(),
  duration_ms: z.number().int().nonnegative(),
});
export type RebuildResponse = z.infer<typeof RebuildResponseSchema>;
