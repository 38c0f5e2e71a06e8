import { z } from 'zod';
import { FLWR_AID_MAX_CHARS } from './accounts';
import { InvalidRequestError } from './errors';
import {
  OPENFGA_MAX_OBJECT_CHARS,
  codePointLength,
  openfgaIdProblem,
} from './openfga-ids';
import { RUN_PERMISSIONS, RUN_ROLES, runIdProblem, type ServiceRole } from './runs';

/**
 * Fedgate's OpenFGA vocabulary. `flwr_aid`, `service` and `has_access` are
 * Flower's documented names and must not change, so an existing Flower store
 * keeps working; `run`, `admin` and the run relations are Fedgate's extension.
 */
export const OBJECT_TYPES = ['flwr_aid', 'service', 'run'] as const;
export type ObjectType = (typeof OBJECT_TYPES)[number];
export const ObjectTypeSchema = z.enum(OBJECT_TYPES);

export const SERVICE_RELATIONS = ['has_access', 'admin'] as const;
export const RUN_RELATIONS = [...RUN_ROLES, ...RUN_PERMISSIONS] as const;

/** Relations a caller may check; roles (`owner`, `viewer`, ...) are checkable too. */
export const RELATIONS = [...SERVICE_RELATIONS, ...RUN_RELATIONS] as const;
export type Relation = (typeof RELATIONS)[number];
export const RelationSchema = z.enum(RELATIONS);

/**
 * Structural link `run:<id>#service@service:<name>` that lets a service admin
 * see every run of that service. Written by the projector; not checkable.
 */
export const RUN_SERVICE_RELATION = 'service';

/** Which relations exist on which object type (the user is always a `flwr_aid`). */
export const RELATIONS_BY_OBJECT_TYPE: Readonly<Record<ObjectType, readonly Relation[]>> = {
  flwr_aid: [],
  service: SERVICE_RELATIONS,
  run: RUN_RELATIONS,
};

export function relationAppliesTo(relation: Relation, type: ObjectType): boolean {
  return RELATIONS_BY_OBJECT_TYPE[type].includes(relation);
}

/** The tuple relation that stores each service role. */
export const SERVICE_ROLE_RELATION: Readonly<Record<ServiceRole, Relation>> = {
  member: 'has_access',
  admin: 'admin',
};

/** A parsed, validated `type:id`. */
export interface ObjectRef<T extends ObjectType = ObjectType> {
  type: T;
  id: string;
}

/** Why `id` cannot be the id of an object of `type`, or null when it can. */
export function objectIdProblem(type: ObjectType, id: string): string | null {
  // The whole `type:id` must fit OpenFGA's 256-character object bound.
  const maxChars = Math.min(OPENFGA_MAX_OBJECT_CHARS - type.length - 1, type === 'flwr_aid' ? FLWR_AID_MAX_CHARS : Infinity);
  const problem = openfgaIdProblem(id, maxChars);
  if (problem) return problem;
  return type === 'run' ? runIdProblem(id) : null;
}

export type ObjectRefResult = { ok: true; ref: ObjectRef } | { ok: false; problem: string };

/** Parses `service:superlink`, `run:42`, `flwr_aid:alice` without throwing. */
export function tryParseObjectRef(value: unknown): ObjectRefResult {
  if (typeof value !== 'string') return { ok: false, problem: 'must be a string' };
  if (value.length === 0) return { ok: false, problem: 'must not be empty' };
  if (codePointLength(value) > OPENFGA_MAX_OBJECT_CHARS) {
    return { ok: false, problem: `must be at most ${OPENFGA_MAX_OBJECT_CHARS} characters` };
  }
  const separator = value.indexOf(':');
  if (separator < 0) return { ok: false, problem: "must have the form '<type>:<id>'" };
  const type = value.slice(0, separator);
  const id = value.slice(separator + 1);
  if (!isObjectType(type)) {
    return { ok: false, problem: `has unknown type '${type}' (expected one of ${OBJECT_TYPES.join(', ')})` };
  }
  const problem = objectIdProblem(type, id);
  if (problem) return { ok: false, problem: `id ${problem}` };
  return { ok: true, ref: { type, id } };
}

function isObjectType(value: string): value is ObjectType {
  return (OBJECT_TYPES as readonly string[]).includes(value);
}

/** Parses an object reference; a malformed one is an `invalid_request`. */
export function parseObjectRef(value: unknown): ObjectRef {
  const result = tryParseObjectRef(value);
  if (!result.ok) {
    throw new InvalidRequestError(`object ${result.problem}`, [{ field: 'object', message: result.problem }]);
  }
  return result.ref;
}

/** Formats a reference, refusing ids that would change its meaning (e.g. `1#owner`). */
export function formatObjectRef(ref: ObjectRef): string {
  const problem = objectIdProblem(ref.type, ref.id);
  if (problem) {
    throw new InvalidRequestError(`${ref.type} id ${problem}`, [{ field: 'id', message: problem }]);
  }
  return `${ref.type}:${ref.id}`;
}

/** `service:<name>` */
export const serviceObject = (serviceName: string): string => formatObjectRef({ type: 'service', id: serviceName });
/** `run:<id>` */
export const runObject = (runId: string): string => formatObjectRef({ type: 'run', id: runId });
/**
 * `run:<service>/<id>`: a run as stored, in its service. Run ids are unique per service only
 * (each SuperLink numbers its own runs), so `run:<id>` in a request is read in the caller's
 * service and stored (tuples, audit) qualified. An account id or service name never holds
 * '/' as the last separator before the digits of the run id, so the form is unambiguous.
 */
export function serviceRunObject(service: string, runId: string): string {
  const problem = objectIdProblem('service', service) ?? runIdProblem(runId);
  const object = `run:${service}/${runId}`;
  if (problem || codePointLength(object) > OPENFGA_MAX_OBJECT_CHARS) {
    throw new InvalidRequestError(`run ${runId} of service ${service} cannot be an authorization object${problem ? `: ${problem}` : ' (too long)'}`, [{ field: 'service', message: problem ?? 'too long' }]);
  }
  return object;
}

/** `flwr_aid:<sub>` — the OpenFGA user for an account. */
export const accountUser = (flwrAid: string): string => formatObjectRef({ type: 'flwr_aid', id: flwrAid });

/** A string that is a valid Fedgate object reference (kept as the string). */
export const ObjectRefStringSchema = z.string().superRefine((value, context) => {
  const result = tryParseObjectRef(value);
  if (!result.ok) context.addIssue({ code: 'custom', message: result.problem });
});

/** Name of a SuperLink service, as in `service:<name>`. */
export const ServiceNameSchema = z.string().superRefine((value, context) => {
  const problem = objectIdProblem('service', value);
  if (problem) context.addIssue({ code: 'custom', message: problem });
});
export type ServiceName = z.infer<typeof ServiceNameSchema>;

/**
 * Opaque token answered by every write; passed to a later check or list it
 * makes that call see at least that write. Bounded, printable, no whitespace.
 */
export const ConsistencyTokenSchema = z.string().regex(/^[\x21-\x7e]{1,512}$/, 'must be 1..512 printable ASCII characters');
export type ConsistencyToken = z.infer<typeof ConsistencyTokenSchema>;

/** Id of one authorization decision, returned to the caller and kept in the audit log. */
export const DecisionIdSchema = z.uuid();
export type DecisionId = z.infer<typeof DecisionIdSchema>;
