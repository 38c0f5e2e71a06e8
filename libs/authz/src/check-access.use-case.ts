import {
  BATCH_CHECK_MAX,
  InvalidRequestError,
  ResourceError,
  TokenVerificationError,
  type AuthorizeRejected,
  type AuthorizeRequest,
  type AuthorizeResponse,
  relationAppliesTo,
  tryParseObjectRef,
  type BatchCheckRequest,
  type BatchCheckResponse,
  type CheckRequest,
  type CheckResponse,
  type OpenFgaCheckRequest,
  type OpenFgaCheckResponse,
} from '@fedgate/contracts';
import type { Attempt, Caller, Refusals, VerifiedPerson } from './caller';
import type { RunResolver } from './object-services';
import type { AuthzDeps } from './authz-deps';

/** The keys that may ask about their services: the SuperLink's, and an operator's. */
const ASKING_ROLES = ['superlink', 'authz-admin'] as const;

/**
 * A key may ask about objects of its own services only; `run:<id>` is read in the key's service
 * (run ids are unique per service). A question about another service's object is refused (403,
 * audited) unanswered. Answers each object as stored (`run:<service>/<id>`), in order.
 */
export class QuestionScope {
  constructor(
    private readonly runs: RunResolver,
    private readonly refusals: Refusals,
  ) {}

  async require(caller: Caller, objects: readonly string[], attempt: Omit<Attempt, 'object'>, roles: readonly ('superlink' | 'authz-admin')[] = ASKING_ROLES): Promise<string[]> {
    const key = await this.refusals.requireKeyRole(caller, roles, null, attempt);
    const resolved = new Map<string, string>();
    for (const object of new Set(objects)) {
      const { service, object: stored } = await this.runs.resolve(key, object);
      await this.refusals.requireKeyRole(caller, roles, service, { ...attempt, object: stored });
      resolved.set(object, stored);
    }
    return objects.map((o) => resolved.get(o)!);
  }
}

/** `POST /v1/check`: one decision; with a consistency token, after that write is applied. */
export class CheckAccess {
  constructor(private readonly deps: AuthzDeps) {}

  async execute(check: CheckRequest, caller: Caller): Promise<CheckResponse> {
    const [object] = await this.deps.scope.require(caller, [check.object], { action: 'check' });
    if (check.consistency_token) await this.deps.projection.waitForToken(check.consistency_token);
    return this.deps.decide.execute({ ...check, object: object! }, { endpoint: 'check', origin: caller.origin, clientId: caller.key?.client_id, consistencyToken: check.consistency_token });
  }
}

/** `POST /v1/check/batch`: up to BATCH_CHECK_MAX decisions, answered in request order. */
export class BatchCheck {
  constructor(private readonly deps: AuthzDeps) {}

  async execute(batch: BatchCheckRequest, caller: Caller): Promise<BatchCheckResponse> {
    if (batch.checks.length > BATCH_CHECK_MAX) throw new InvalidRequestError(`at most ${BATCH_CHECK_MAX} checks per batch`);
    const objects = await this.deps.scope.require(caller, batch.checks.map((c) => c.object), { action: 'check' });
    const tokens = [...new Set([batch.consistency_token, ...batch.checks.map((c) => c.consistency_token)].filter((t): t is string => !!t))];
    for (const token of tokens) await this.deps.projection.waitForToken(token);
    // every decision is audited on its own; one that cannot be answered fails the batch (503)
    const results = await Promise.all(
      batch.checks.map((check, i) =>
        this.deps.decide.execute({ ...check, object: objects[i]! }, { endpoint: 'batch_check', origin: caller.origin, clientId: caller.key?.client_id, consistencyToken: check.consistency_token ?? batch.consistency_token }),
      ),
    );
    return { results };
  }
}

/** Verifies a person's token without recording a success (the caller records it with its decision). */
export type VerifyTokenQuietly = (accessToken: string, caller: Caller) => Promise<VerifiedPerson>;

export type AuthorizeAnswer = { status: 200; body: AuthorizeResponse } | { status: 401; body: AuthorizeRejected };

/**
 * `POST /v1/authorize` (key role `superlink`, for the object's service): the SuperLink's one
 * call per CLI request. The token is verified with the token service's rules, cache and
 * revocations; the question is asked for the person it proves; exactly one audit event records
 * both: the decision, with the verified account as actor and the token's hash. A refused token
 * is answered 401 `{allowed:false, error}` with its one `token.rejected` event, whose unverified
 * subject is only `claimed_subject`.
 */
export class Authorize {
  constructor(private readonly deps: AuthzDeps) {}

  async execute(request: AuthorizeRequest, caller: Caller): Promise<AuthorizeAnswer> {
    const [object] = await this.deps.scope.require(caller, [request.object], { action: 'authorize' }, ['superlink']);
    let person: VerifiedPerson;
    try {
      person = await this.deps.verifyPerson(request.access_token, caller);
    } catch (err) {
      if (!(err instanceof TokenVerificationError) || err.status !== 401) throw err;
      return { status: 401, body: { allowed: false, error: err.code as AuthorizeRejected['error'], error_description: err.description } };
    }
    if (request.consistency_token) await this.deps.projection.waitForToken(request.consistency_token);
    const decision = await this.deps.decide.execute(
      { flwr_aid: person.account.flwr_aid, relation: request.relation, object: object! },
      {
        endpoint: 'authorize',
        origin: caller.origin,
        clientId: caller.key?.client_id,
        consistencyToken: request.consistency_token,
        verified: { account: person.account, access_token_hash: person.token_hash },
      },
    );
    return { status: 200, body: { ...decision, account: person.account } };
  }
}

/**
 * `POST /stores/{store_id}/check`, OpenFGA's own Check API, for SuperLinks whose OpenFGA
 * plugin points at Fedgate: the same audited decision as /v1/check. Only Fedgate's store, a
 * `flwr_aid:` user and the model's relations are accepted; the decision is always made with
 * the pinned model (a caller-chosen authorization_model_id is not honoured).
 */
export class OpenFgaCompatibleCheck {
  constructor(private readonly deps: AuthzDeps) {}

  async execute(storeId: string, request: OpenFgaCheckRequest, caller: Caller): Promise<OpenFgaCheckResponse & { decision_id: string }> {
    if (storeId !== this.deps.store.pinned().storeId) throw new ResourceError('not_found', `Store ${storeId} is not served here.`);
    const { user, relation, object } = request.tuple_key;
    const flwrAid = user.startsWith('flwr_aid:') ? user.slice('flwr_aid:'.length) : null;
    if (!flwrAid || flwrAid.includes('#') || flwrAid === '*') {
      throw new InvalidRequestError("tuple_key.user must be an account, 'flwr_aid:<id>'", [{ field: 'tuple_key.user', message: 'not a flwr_aid' }]);
    }
    const parsed = tryParseObjectRef(object);
    if (!parsed.ok) throw new InvalidRequestError(`tuple_key.object ${parsed.problem}`, [{ field: 'tuple_key.object', message: parsed.problem }]);
    if (!this.deps.store.hasRelation(parsed.ref.type, relation) || !relationAppliesTo(relation as never, parsed.ref.type)) {
      throw new InvalidRequestError(`relation '${relation}' does not exist on type '${parsed.ref.type}'`, [{ field: 'tuple_key.relation', message: 'unknown relation' }]);
    }
    const [stored] = await this.deps.scope.require(caller, [object], { action: 'check' });
    const decision = await this.deps.decide.execute({ flwr_aid: flwrAid, relation, object: stored! }, { endpoint: 'openfga_check', origin: caller.origin, clientId: caller.key?.client_id });
    return { allowed: decision.allowed, resolution: '', decision_id: decision.decision_id };
  }
}
