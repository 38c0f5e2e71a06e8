import {
  InvalidRequestError,
  ResourceError,
  createCloudEvent,
  serviceObject,
  type EventData,
  type FedgateEvent,
  type RunMemberRole,
  type ServiceRole,
} from '@fedgate/contracts';
import type { DatabaseTransaction, OutboxStore, PrismaClient } from '@fedgate/database';
import { consistencyTokenFor } from './consistency-token';
import { AUTHZ_EVENT_SOURCE, type Decide, type DecisionOrigin } from './decide';
import type { OwnershipEventType } from './ownership-tuples';

/** What the ownership commands need: the database, the outbox, and a nudge for the relay. */
export interface OwnershipCommandDeps {
  prisma: PrismaClient;
  outbox: OutboxStore;
  /** Cuts the relay's idle pause short, so the write reaches Kafka (and the projector) at once. */
  wakeRelay: () => void;
  decide: Decide;
  /** The SuperLink service runs belong to when the caller names none. */
  defaultService: string;
}

/**
 * Appends one ownership event through the outbox (in `tx`, with the command's own state) and
 * answers its consistency token. The topic is the truth; nothing else is written here.
 */
async function appendOwnershipEvent<T extends OwnershipEventType>(deps: OwnershipCommandDeps, type: T, data: EventData<T>, guard?: (tx: DatabaseTransaction, event: FedgateEvent<T>) => Promise<void>) {
  const event = createCloudEvent({ type, source: AUTHZ_EVENT_SOURCE, data });
  await deps.prisma.$transaction(async (tx) => {
    if (guard) await guard(tx, event);
    await deps.outbox.append(tx, [event]);
  });
  deps.wakeRelay();
  return consistencyTokenFor(event.id);
}

/** Whether `actor` is an admin of `service` (an audited OpenFGA decision; fails closed). */
async function isServiceAdmin(deps: OwnershipCommandDeps, actor: string, service: string, origin: DecisionOrigin): Promise<boolean> {
  const decision = await deps.decide.execute({ flwr_aid: actor, relation: 'admin', object: serviceObject(service) }, { endpoint: 'admin_action', origin });
  return decision.allowed;
}

/**
 * `POST /v1/runs`: the caller's run becomes private to it. A unique claim row, written in the
 * same transaction as the event, makes the first owner win under any concurrency; the same
 * owner registering again gets the original token (200), another owner 409 run_exists.
 */
export class RegisterRun {
  constructor(private readonly deps: OwnershipCommandDeps) {}

  async execute(input: { run_id: string; flwr_aid: string; federation?: string; service?: string }): Promise<{ created: boolean; run_id: string; owner: string; consistency_token: string }> {
    const service = input.service ?? this.deps.defaultService;
    const existing = await this.deps.prisma.authzRunClaim.findUnique({ where: { runId: input.run_id } });
    if (existing) return this.repeated(existing, input.flwr_aid);
    try {
      const token = await appendOwnershipEvent(this.deps, 'fedgate.run.registered.v1', { run_id: input.run_id, owner: input.flwr_aid, service, federation: input.federation }, async (tx, event) => {
        await tx.authzRunClaim.create({ data: { runId: input.run_id, owner: input.flwr_aid, service, eventId: event.id } });
      });
      return { created: true, run_id: input.run_id, owner: input.flwr_aid, consistency_token: token };
    } catch (err) {
      // lost a race for the claim (unique violation): answer as the winner decides
      if ((err as { code?: string }).code !== 'P2002') throw err;
      const winner = await this.deps.prisma.authzRunClaim.findUnique({ where: { runId: input.run_id } });
      if (!winner) throw err;
      return this.repeated(winner, input.flwr_aid);
    }
  }

  private repeated(claim: { runId: string; owner: string; eventId: string }, flwrAid: string) {
    if (claim.owner !== flwrAid) throw new ResourceError('run_exists', `Run ${claim.runId} is registered to another account.`);
    return { created: false, run_id: claim.runId, owner: claim.owner, consistency_token: consistencyTokenFor(claim.eventId) };
  }
}

/** The run's claim, and whether `actor` may manage its members (its owner, or an admin of its service). */
async function authorizeRunManagement(deps: OwnershipCommandDeps, runId: string, actor: string, origin: DecisionOrigin) {
  const claim = await deps.prisma.authzRunClaim.findUnique({ where: { runId } });
  if (!claim) throw new ResourceError('not_found', `Run ${runId} is not registered.`);
  if (claim.owner !== actor && !(await isServiceAdmin(deps, actor, claim.service, origin))) {
    throw new ResourceError('forbidden', `${actor} neither owns run ${runId} nor administers its service.`);
  }
  return claim;
}

/** `PUT /v1/runs/{run_id}/members/{flwr_aid}`: the owner (or a service admin) shares the run. */
export class ShareRun {
  constructor(private readonly deps: OwnershipCommandDeps) {}

  async execute(input: { run_id: string; flwr_aid: string; role: RunMemberRole; acting_flwr_aid: string }, origin: DecisionOrigin): Promise<{ consistency_token: string }> {
    const claim = await authorizeRunManagement(this.deps, input.run_id, input.acting_flwr_aid, origin);
    if (claim.owner === input.flwr_aid) {
      throw new InvalidRequestError('The owner already holds every permission on the run.', [{ field: 'flwr_aid', message: 'is the owner' }]);
    }
    const data = { run_id: input.run_id, flwr_aid: input.flwr_aid, role: input.role, acting_flwr_aid: input.acting_flwr_aid };
    return { consistency_token: await appendOwnershipEvent(this.deps, 'fedgate.run.shared.v1', data) };
  }
}

/** `DELETE /v1/runs/{run_id}/members/{flwr_aid}`: the share is taken back (idempotent). */
export class UnshareRun {
  constructor(private readonly deps: OwnershipCommandDeps) {}

  async execute(input: { run_id: string; flwr_aid: string; acting_flwr_aid: string }, origin: DecisionOrigin): Promise<{ consistency_token: string }> {
    await authorizeRunManagement(this.deps, input.run_id, input.acting_flwr_aid, origin);
    const data = { run_id: input.run_id, flwr_aid: input.flwr_aid, acting_flwr_aid: input.acting_flwr_aid };
    return { consistency_token: await appendOwnershipEvent(this.deps, 'fedgate.run.unshared.v1', data) };
  }
}

async function requireServiceAdmin(deps: OwnershipCommandDeps, service: string, actor: string, origin: DecisionOrigin): Promise<void> {
  if (!(await isServiceAdmin(deps, actor, service, origin))) throw new ResourceError('forbidden', `${actor} is not an admin of service ${service}.`);
}

/** `PUT /v1/services/{service}/members/{flwr_aid}`: a service admin grants `member` (has_access) or `admin`. */
export class GrantServiceAccess {
  constructor(private readonly deps: OwnershipCommandDeps) {}

  async execute(input: { service: string; flwr_aid: string; role: ServiceRole; acting_flwr_aid: string }, origin: DecisionOrigin): Promise<{ consistency_token: string }> {
    await requireServiceAdmin(this.deps, input.service, input.acting_flwr_aid, origin);
    return { consistency_token: await appendOwnershipEvent(this.deps, 'fedgate.access.granted.v1', input) };
  }
}

/** `DELETE /v1/services/{service}/members/{flwr_aid}`: a service admin removes every role of the account. */
export class RevokeServiceAccess {
  constructor(private readonly deps: OwnershipCommandDeps) {}

  async execute(input: { service: string; flwr_aid: string; acting_flwr_aid: string }, origin: DecisionOrigin): Promise<{ consistency_token: string }> {
    await requireServiceAdmin(this.deps, input.service, input.acting_flwr_aid, origin);
    return { consistency_token: await appendOwnershipEvent(this.deps, 'fedgate.access.revoked.v1', input) };
  }
}

/**
 * At start: the configured bootstrap account becomes admin of the configured service, by a
 * grant event with no acting account (the system). Appended once per (service, account), so
 * an admin later revoked on purpose stays revoked across restarts.
 */
export class BootstrapServiceAdmin {
  constructor(private readonly deps: OwnershipCommandDeps) {}

  async execute(service: string, flwrAid: string): Promise<boolean> {
    const done = await this.deps.prisma.authzBootstrapGrant.findUnique({ where: { service_flwrAid: { service, flwrAid } } });
    if (done) return false;
    try {
      await appendOwnershipEvent(this.deps, 'fedgate.access.granted.v1', { service, flwr_aid: flwrAid, role: 'admin', acting_flwr_aid: null }, async (tx, event) => {
        await tx.authzBootstrapGrant.create({ data: { service, flwrAid, eventId: event.id } });
      });
      return true;
    } catch (err) {
      if ((err as { code?: string }).code === 'P2002') return false; // another instance did it
      throw err;
    }
  }
}

/**
 * The bootstrap admin named by username or email (FEDGATE_ADMIN_LOGIN), for an IdP whose
 * account ids (`sub`) are not known in advance (Keycloak's are UUIDs): the first account that
 * signs in under that name becomes admin of the service, once. Emails match only when the IdP
 * vouched for them (login_names carries verified ones only) and ignoring case.
 */
export class BootstrapServiceAdminByLogin {
  constructor(
    private readonly deps: OwnershipCommandDeps,
    private readonly bootstrap: BootstrapServiceAdmin,
  ) {}

  async execute(service: string, adminLogin: string, seen: EventData<'fedgate.account.seen.v1'>): Promise<boolean> {
    const login = adminLogin.includes('@') ? adminLogin.toLowerCase() : adminLogin;
    const names = (seen.login_names ?? []).map((name) => (name.includes('@') ? name.toLowerCase() : name));
    if (!names.includes(login)) return false;
    // resolved once per service and name: a later account under the same name gets nothing
    const resolved = await this.deps.prisma.authzBootstrapLogin.findUnique({ where: { service_login: { service, login } } });
    if (resolved) return false;
    const flwrAid = seen.account.flwr_aid;
    const granted = await this.bootstrap.execute(service, flwrAid);
    try {
      await this.deps.prisma.authzBootstrapLogin.create({ data: { service, login, flwrAid } });
    } catch (err) {
      if ((err as { code?: string }).code !== 'P2002') throw err; // another instance resolved it
    }
    return granted;
  }
}
