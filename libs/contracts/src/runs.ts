import { z } from 'zod';
import { FlwrAidSchema, type FlwrAid } from './accounts';

/**
 * Run ownership. Runs are private by default: `flwr run` registers the run to
 * its caller (the owner); the owner may share it with other accounts as
 * `viewer` or `operator`; a service admin sees every run of that service.
 * The ownership topic is the source of truth; this is its model.
 */

/** Roles the owner can give to other accounts on a run. */
export const RUN_MEMBER_ROLES = ['viewer', 'operator'] as const;
export type RunMemberRole = (typeof RUN_MEMBER_ROLES)[number];
export const RunMemberRoleSchema = z.enum(RUN_MEMBER_ROLES);

/** Every role an account can hold on a run, strongest first. */
export const RUN_ROLES = ['owner', 'operator', 'viewer'] as const;
export type RunRole = (typeof RUN_ROLES)[number];

/** Roles on a SuperLink service: `member` = Flower's `has_access`; `admin` sees and manages everything. */
export const SERVICE_ROLES = ['member', 'admin'] as const;
export type ServiceRole = (typeof SERVICE_ROLES)[number];
export const ServiceRoleSchema = z.enum(SERVICE_ROLES);

/** What one can do with a run (Flower's list / stop / log / pull-artifacts calls). */
export const RUN_PERMISSIONS = ['can_view', 'can_stop', 'can_read_logs', 'can_pull_artifacts'] as const;
export type RunPermission = (typeof RUN_PERMISSIONS)[number];

/**
 * Which run roles grant which permission. A viewer may read everything, an
 * operator may also stop the run; the owner may do all, including sharing.
 * (The service `admin` is granted every permission in addition.)
 * The OpenFGA model in authz-service implements exactly this table.
 */
export const RUN_PERMISSION_GRANTS: Readonly<Record<RunPermission, readonly RunRole[]>> = {
  can_view: ['owner', 'operator', 'viewer'],
  can_stop: ['owner', 'operator'],
  can_read_logs: ['owner', 'operator', 'viewer'],
  can_pull_artifacts: ['owner', 'operator', 'viewer'],
};

export function runRoleAllows(role: RunRole, permission: RunPermission): boolean {
  return RUN_PERMISSION_GRANTS[permission].includes(role);
}

// Flower run ids are uint64 values: canonical decimal, no sign, no leading zeros.
const RUN_ID_PATTERN = /^(0|[1-9][0-9]{0,19})$/;
const UINT64_MAX = 18446744073709551615n;

/** Why `value` is not a run id, or null when it is. */
export function runIdProblem(value: string): string | null {
  if (!RUN_ID_PATTERN.test(value) || BigInt(value) > UINT64_MAX) {
    return 'must be an unsigned 64-bit integer in decimal';
  }
  return null;
}

/**
 * A run id as a canonical decimal string. Strings, because uint64 exceeds
 * JavaScript's safe integers (2^53) and JSON numbers that large lose digits.
 */
export const RunIdSchema = z.string().superRefine((value, context) => {
  const problem = runIdProblem(value);
  if (problem) context.addIssue({ code: 'custom', message: problem });
});
export type RunId = z.infer<typeof RunIdSchema>;

/** Accepts a run id as a string or a safe JSON integer (Python clients send ints) and yields the string. */
export const RunIdInputSchema = z.union([z.string(), z.number()]).transform((value, context) => {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && value >= 0) return String(value);
    context.addIssue({ code: 'custom', message: 'must be a non-negative integer (send ids beyond 2^53 as a string)' });
    return z.NEVER;
  }
  const problem = runIdProblem(value);
  if (problem) {
    context.addIssue({ code: 'custom', message: problem });
    return z.NEVER;
  }
  return value;
});

export const RunMemberSchema = z.object({
  flwr_aid: FlwrAidSchema,
  role: RunMemberRoleSchema,
});
export type RunMember = z.infer<typeof RunMemberSchema>;

/** The current ownership state of one run (a projection of the ownership topic). */
export const RunOwnershipSchema = z.object({
  run_id: RunIdSchema,
  owner: FlwrAidSchema,
  /** The SuperLink service the run belongs to, if known (links it to the service admins). */
  service: z.string().min(1).optional(),
  federation: z.string().min(1).optional(),
  members: z.array(RunMemberSchema),
});
export type RunOwnership = z.infer<typeof RunOwnershipSchema>;

/** The strongest role `flwrAid` holds on the run, or null (service admin is not considered here). */
export function effectiveRunRole(ownership: RunOwnership, flwrAid: FlwrAid): RunRole | null {
  if (ownership.owner === flwrAid) return 'owner';
  const roles = ownership.members.filter((member) => member.flwr_aid === flwrAid).map((member) => member.role);
  if (roles.includes('operator')) return 'operator';
  if (roles.includes('viewer')) return 'viewer';
  return null;
}
