import { z } from 'zod';
import { AccountSchema, FlwrAidSchema } from '../accounts';
import { RawTokenSchema, TokenRejectionCodeSchema } from '../tokens';
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
import { RUN_ROLES } from '../runs';

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
  .superRefine(relationExistsOnObject);
export type CheckRequest = z.infer<typeof CheckRequestSchema>;

function relationExistsOnObject(question: { relation: CheckRequest['relation']; object: string }, context: z.RefinementCtx): void {
  const parsed = tryParseObjectRef(question.object);
  if (parsed.ok && !relationAppliesTo(question.relation, parsed.ref.type)) {
    context.addIssue({
      code: 'custom',
      path: ['relation'],
      message: `relation '${question.relation}' does not exist on type '${parsed.ref.type}'`,
    });
  }
}

/**
 * `POST /v1/authorize` (key role `superlink`): the person's token and the question in one
 * call. The subject of the question is whoever the token proves, never a field.
 */
export const AuthorizeRequestSchema = z
  .object({
    access_token: RawTokenSchema,
    relation: RelationSchema,
    object: ObjectRefStringSchema,
    consistency_token: ConsistencyTokenSchema.optional(),
  })
  .superRefine(relationExistsOnObject);
export type AuthorizeRequest = z.infer<typeof AuthorizeRequestSchema>;

/** 200 answer of `POST /v1/authorize`: the decision and the verified account it was made for. */
export const AuthorizeResponseSchema = z.object({
  allowed: z.boolean(),
  decision_id: DecisionIdSchema,
  account: AccountSchema,
});
export type AuthorizeResponse = z.infer<typeof AuthorizeResponseSchema>;

/** 401 answer of `POST /v1/authorize`: the token was refused, so nothing was decided. */
export const AuthorizeRejectedSchema = z.object({
  allowed: z.literal(false),
  error: TokenRejectionCodeSchema,
  error_description: z.string(),
});
export type AuthorizeRejected = z.infer<typeof AuthorizeRejectedSchema>;

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
  /** The person starting the run: its verified subject becomes the owner. */
  access_token: RawTokenSchema,
  /** The federation the run was started in (as the SuperLink names it); stored and listed. */
  federation: z.string().min(1).max(256).optional(),
  /** The SuperLink service the run belongs to; needed only when the key acts for several. */
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

/** `GET /v1/runs?consistency_token=...`: the runs of the person whose bearer token is sent. */
export const ListRunsQuerySchema = z.object({
  consistency_token: ConsistencyTokenSchema.optional(),
});
export type ListRunsQuery = z.infer<typeof ListRunsQuerySchema>;

/** Why the account may view a listed run: its strongest role, `admin` for a service admin. */
export const LISTED_RUN_ROLES = ['owner', 'operator', 'viewer', 'admin'] as const;
export const ListedRunRoleSchema = z.enum(LISTED_RUN_ROLES);
export type ListedRunRole = z.infer<typeof ListedRunRoleSchema>;

export const ListRunsResponseSchema = z.object({
  runs: z.array(
    z.object({
      run_id: RunIdSchema,
      role: ListedRunRoleSchema,
      /** The service the run belongs to (run ids are unique per service only). */
      service: ServiceNameSchema.optional(),
      /** The federation the SuperLink named when the run was registered. */
      federation: z.string().optional(),
    }),
  ),
});
export type ListRunsResponse = z.infer<typeof ListRunsResponseSchema>;

/** Path of `PUT|DELETE /v1/runs/{run_id}/members/{flwr_aid}`. */
export const RunMemberParamsSchema = z.object({
  run_id: RunIdSchema,
  flwr_aid: FlwrAidSchema,
});
export type RunMemberParams = z.infer<typeof RunMemberParamsSchema>;

/**
 * Body of `PUT /v1/runs/{run_id}/members/{flwr_aid}`; the actor is the bearer token's person,
 * 403 `forbidden` unless they own the run (or administer its service).
 */
export const PutRunMemberRequestSchema = z.strictObject({
  role: RunMemberRoleSchema,
  /** With a key acting for several services: which one the run belongs to. */
  service: ServiceNameSchema.optional(),
});
export type PutRunMemberRequest = z.infer<typeof PutRunMemberRequestSchema>;

/** Body of `DELETE /v1/runs/{run_id}/members/{flwr_aid}` (may be empty). */
export const DeleteRunMemberRequestSchema = z.strictObject({
  service: ServiceNameSchema.optional(),
});
export type DeleteRunMemberRequest = z.infer<typeof DeleteRunMemberRequestSchema>;

/** Path of `GET /v1/runs/{run_id}/members`. */
export const RunParamsSchema = z.object({ run_id: RunIdSchema });

/** Query of `GET /v1/runs/{run_id}/members`. */
export const RunMembersQuerySchema = z.object({
  service: ServiceNameSchema.optional(),
  consistency_token: ConsistencyTokenSchema.optional(),
});

/** `GET /v1/runs/{run_id}/members`: the owner and everyone the run is shared with. */
export const RunMembersResponseSchema = z.object({
  members: z.array(z.object({ flwr_aid: FlwrAidSchema, role: z.enum(RUN_ROLES) })),
});
export type RunMembersResponse = z.infer<typeof RunMembersResponseSchema>;

/** Path of `PUT|DELETE /v1/services/{service}/members/{flwr_aid}`. */
export const ServiceMemberParamsSchema = z.object({
  service: ServiceNameSchema,
  flwr_aid: FlwrAidSchema,
});
export type ServiceMemberParams = z.infer<typeof ServiceMemberParamsSchema>;

/**
 * Body of `PUT /v1/services/{service}/members/{flwr_aid}` (`member` = has_access); 403 unless
 * a service admin acts (bearer token) or an `authz-admin` key for the service; 409
 * `last_admin` when it would demote the service's only admin.
 */
export const PutServiceMemberRequestSchema = z.strictObject({
  role: ServiceRoleSchema,
});
export type PutServiceMemberRequest = z.infer<typeof PutServiceMemberRequestSchema>;

/** Body of `DELETE /v1/services/{service}/members/{flwr_aid}` (may be empty). */
export const DeleteServiceMemberRequestSchema = z.strictObject({});
export type DeleteServiceMemberRequest = z.infer<typeof DeleteServiceMemberRequestSchema>;

/** Path of `GET /v1/services/{service}/members`. */
export const ServiceParamsSchema = z.object({ service: ServiceNameSchema });

/** Query of `GET /v1/services/{service}/members`. */
export const ServiceMembersQuerySchema = z.object({
  consistency_token: ConsistencyTokenSchema.optional(),
});

/** `GET /v1/services/{service}/members`: who has which role on the service. */
export const ServiceMembersResponseSchema = z.object({
  members: z.array(z.object({ flwr_aid: FlwrAidSchema, role: ServiceRoleSchema })),
});
export type ServiceMembersResponse = z.infer<typeof ServiceMembersResponseSchema>;

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
