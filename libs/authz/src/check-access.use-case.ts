import {
  BATCH_CHECK_MAX,
  InvalidRequestError,
  ResourceError,
  relationAppliesTo,
  tryParseObjectRef,
  type BatchCheckRequest,
  type BatchCheckResponse,
  type CheckRequest,
  type CheckResponse,
  type OpenFgaCheckRequest,
  type OpenFgaCheckResponse,
} from '@fedgate/contracts';
import type { AuthorizationStore } from './authorization-store';
import type { Decide, DecisionOrigin } from './decide';
import type { ProjectionState } from './projection-state';

/** `POST /v1/check`: one decision; with a consistency token, after that write is applied. */
export class CheckAccess {
  constructor(
    private readonly decide: Decide,
    private readonly projection: ProjectionState,
  ) {}

  async execute(check: CheckRequest, origin: DecisionOrigin): Promise<CheckResponse> {
    if (check.consistency_token) await this.projection.waitForToken(check.consistency_token);
    return this.decide.execute(check, { endpoint: 'check', origin, consistencyToken: check.consistency_token });
  }
}

/** `POST /v1/check/batch`: up to BATCH_CHECK_MAX decisions, answered in request order. */
export class BatchCheck {
  constructor(
    private readonly decide: Decide,
    private readonly projection: ProjectionState,
  ) {}

  async execute(batch: BatchCheckRequest, origin: DecisionOrigin): Promise<BatchCheckResponse> {
    if (batch.checks.length > BATCH_CHECK_MAX) throw new InvalidRequestError(`at most ${BATCH_CHECK_MAX} checks per batch`);
    const tokens = [...new Set([batch.consistency_token, ...batch.checks.map((c) => c.consistency_token)].filter((t): t is string => !!t))];
    for (const token of tokens) await this.projection.waitForToken(token);
    // every decision is audited on its own; one that cannot be answered fails the batch (503)
    const results = await Promise.all(
      batch.checks.map((check) =>
        this.decide.execute(check, { endpoint: 'batch_check', origin, consistencyToken: check.consistency_token ?? batch.consistency_token }),
      ),
    );
    return { results };
  }
}

/**
 * `POST /stores/{store_id}/check`, OpenFGA's own Check API, for SuperLinks whose OpenFGA
 * plugin points at Fedgate: the same audited decision as /v1/check. Only Fedgate's store, a
 * `flwr_aid:` user and the model's relations are accepted; the decision is always made with
 * the pinned model (a caller-chosen authorization_model_id is not honoured).
 */
export class OpenFgaCompatibleCheck {
  constructor(
    private readonly decide: Decide,
    private readonly store: AuthorizationStore,
  ) {}

  async execute(storeId: string, request: OpenFgaCheckRequest, origin: DecisionOrigin): Promise<OpenFgaCheckResponse & { decision_id: string }> {
    if (storeId !== this.store.pinned().storeId) throw new ResourceError('not_found', `Store ${storeId} is not served here.`);
    const { user, relation, object } = request.tuple_key;
    const flwrAid = user.startsWith('flwr_aid:') ? user.slice('flwr_aid:'.length) : null;
    if (!flwrAid || flwrAid.includes('#') || flwrAid === '*') {
      throw new InvalidRequestError("tuple_key.user must be an account, 'flwr_aid:<id>'", [{ field: 'tuple_key.user', message: 'not a flwr_aid' }]);
    }
    const parsed = tryParseObjectRef(object);
    if (!parsed.ok) throw new InvalidRequestError(`tuple_key.object ${parsed.problem}`, [{ field: 'tuple_key.object', message: parsed.problem }]);
    if (!this.store.hasRelation(parsed.ref.type, relation) || !relationAppliesTo(relation as never, parsed.ref.type)) {
      throw new InvalidRequestError(`relation '${relation}' does not exist on type '${parsed.ref.type}'`, [{ field: 'tuple_key.relation', message: 'unknown relation' }]);
    }
    const decision = await this.decide.execute({ flwr_aid: flwrAid, relation, object }, { endpoint: 'openfga_check', origin });
    return { allowed: decision.allowed, resolution: '', decision_id: decision.decision_id };
  }
}
