import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { DependencyUnavailableError, accountUser, createCloudEvent, type Account, type FedgateEvent, type RequestOrigin } from '@fedgate/contracts';
import type { OutboxGroupWriter } from '@fedgate/database';
import type { AuthorizationStore } from './authorization-store';
import { DecisionCache } from './decision-cache';
import { formatPosition, type ProjectionState } from './projection-state';

export const AUTHZ_EVENT_SOURCE = '/fedgate/authz-service';

/** Which API asked (kept in the decision's audit event). */
export type DecisionEndpoint = 'check' | 'batch_check' | 'openfga_check' | 'list_runs' | 'admin_action' | 'authorize';

export interface DecisionQuestion {
  flwr_aid: string;
  relation: string;
  object: string;
}

export interface Decision {
  allowed: boolean;
  decision_id: string;
}

export interface DecideOptions {
  endpoint: DecisionEndpoint;
  origin: RequestOrigin;
  /** Set when the caller waited for a write: the cache is bypassed, OpenFGA answers. */
  consistencyToken?: string;
  /**
   * `POST /v1/authorize`: the verified token the question's subject comes from, recorded in
   * the decision's own event (one event for both) and making its account the actor.
   */
  verified?: { account: Account; access_token_hash: string };
  /** The service key that asked, if any. */
  clientId?: string;
}

/**
 * One authorization decision, audited: OpenFGA (or the decision cache) answers, a decision id
 * is drawn, and the `fedgate.authz.decision.v1` event is durably in the outbox (group commit)
 * before the answer is returned, so an answered decision is never missing from the audit log.
 * OpenFGA failing is recorded as a fail-closed deny and thrown as 503 authz_unavailable;
 * the audit write failing is also a 503: no decision leaves unaudited.
 */
export class Decide {
  private readonly logger = new Logger(Decide.name);

  constructor(
    private readonly store: AuthorizationStore,
    private readonly cache: DecisionCache,
    private readonly audit: Pick<OutboxGroupWriter, 'append'>,
    private readonly projection: ProjectionState,
  ) {}

  async execute(question: DecisionQuestion, options: DecideOptions): Promise<Decision> {
    const user = accountUser(question.flwr_aid);
    const key = DecisionCache.key(user, question.relation, question.object);
    const useCache = options.consistencyToken === undefined;
    const epoch = this.cache.epoch;
    // the position before asking: the answer reflects at least this much of the topic
    const position = formatPosition(this.projection.position);
    const cached = useCache ? this.cache.get(key) : undefined;
    let allowed: boolean;
    try {
      allowed = cached ?? (await this.store.check({ user, relation: question.relation, object: question.object }));
    } catch (err) {
      // the store already mapped OpenFGA's failure (authz_unavailable): record the denial, rethrow it
      await this.record(this.event(question, options, { allowed: false, cached: false, position, error: 'authz_unavailable' })).catch(() => undefined);
      throw err;
    }
    if (cached === undefined && useCache) this.cache.set(key, allowed, epoch);
    const event = this.event(question, options, { allowed, cached: cached !== undefined, position });
    await this.record(event);
    return { allowed, decision_id: event.data.decision_id };
  }

  private async record(event: FedgateEvent<'fedgate.authz.decision.v1'>): Promise<void> {
    try {
      await this.audit.append(event);
    } catch (err) {
      this.logger.error({ reason: (err as Error).message, decision_id: event.data.decision_id }, 'cannot record a decision; answering 503');
      throw new DependencyUnavailableError('authz_unavailable', 'postgres', 'The decision cannot be recorded in the audit log, so it is not answered.', { cause: err });
    }
  }

  private event(question: DecisionQuestion, options: DecideOptions, outcome: { allowed: boolean; cached: boolean; position: string; error?: 'authz_unavailable' }) {
    return createCloudEvent({
      type: 'fedgate.authz.decision.v1',
      source: AUTHZ_EVENT_SOURCE,
      data: {
        decision_id: randomUUID(),
        flwr_aid: question.flwr_aid,
        relation: question.relation,
        object: question.object,
        allowed: outcome.allowed,
        endpoint: options.endpoint,
        cached: outcome.cached,
        consistency_token: options.consistencyToken,
        error: outcome.error,
        authorization_model_id: this.store.isPinned ? this.store.pinned().modelId : undefined,
        projector_position: outcome.position,
        account: options.verified?.account,
        access_token_hash: options.verified?.access_token_hash,
        client_id: options.clientId,
        origin: options.origin,
      },
    });
  }
}
