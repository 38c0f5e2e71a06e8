import {
  InvalidRequestError,
  ResourceError,
  createCloudEvent,
  runObject,
  serviceObject,
  serviceRunObject,
  type EventData,
  type FedgateEvent,
  type Principal,
  type RunMemberRole,
  type ServiceRole,
} from '@fedgate/contracts';
import { isUniqueViolation, type DatabaseTransaction } from '@fedgate/database';
import { consistencyTokenFor } from './consistency-token';
import { keyPrincipal, personPrincipal, requirePerson, serviceForKey, type Caller } from './caller';
import { AUTHZ_EVENT_SOURCE } from './decide';
import type { RunClaim } from './object-services';
import type { OwnershipEventType } from './ownership-tuples';
import type { AuthzDeps } from './authz-deps';

/**
 * Appends one ownership event through the outbox (in `tx`, with the command's own state) and
 * answers its consistency token. The topic is the truth; nothing else is written here.
 */
async function appendOwnershipEvent<T extends OwnershipEventType>(deps: Pick<AuthzDeps, 'prisma' | 'outbox' | 'wakeRelay'>, type: T, data: EventData<T>, guard?: (tx: DatabaseTransaction, event: FedgateEvent<T>) => Promise<void>) {
  const event = createCloudEvent({ type, source: AUTHZ_EVENT_SOURCE, data });
  await deps.prisma.$transaction(async (tx) => {
    if (guard) await guard(tx, event);
    await deps.outbox.append(tx, [event]);
  });
  deps.wakeRelay();
  return consistencyTokenFor(event.id);
}

/** Whether the person is an admin of `service` (an audited OpenFGA decision; fails closed). */
async function isServiceAdmin(deps: AuthzDeps, caller: Caller, flwrAid: string, service: string): Promise<boolean> {
  const decision = await deps.decide.execute({ flwr_aid: flwrAid, relation: 'admin', object: serviceObject(service) }, { endpoint: 'admin_action', origin: caller.origin, clientId: caller.key?.client_id });
  return decision.allowed;
}

/**
 * `POST /v1/runs` (key role `superlink`, for the run's service): the run becomes private to the
 * person whose access token is sent. A unique claim row, written in the same transaction as
 * the event, makes the first owner win under any concurrency; the same owner registering
 * again gets the original token (200), another owner 409 run_exists.
 */
export class RegisterRun {
  constructor(private readonly deps: AuthzDeps) {}

  async execute(
    input: { run_id: string; access_token: string; federation?: string; service?: string },
    caller: Caller,
  ): Promise<{ created: boolean; run_id: string; owner: string; consistency_token: string }> {
    const key = await this.deps.refusals.requireKeyRole(caller, ['superlink'], null, { action: 'run.register', object: runObject(input.run_id) });
    const service = serviceForKey(key, input.service);
    await this.deps.refusals.requireKeyRole(caller, ['superlink'], service, { action: 'run.register', object: serviceRunObject(service, input.run_id) });
    const owner = (await this.deps.verifyPerson(input.access_token, caller)).account.flwr_aid;
    const claimKey = { service_runId: { service, runId: input.run_id } };
    const existing = await this.deps.prisma.authzRunClaim.findUnique({ where: claimKey });
    if (existing) return this.repeated(existing, owner);
    try {
      const token = await appendOwnershipEvent(this.deps, 'fedgate.run.registered.v1', { run_id: input.run_id, owner, service, federation: input.federation }, async (tx, event) => {
        await tx.authzRunClaim.create({ data: { runId: input.run_id, owner, service, eventId: event.id } });
      });
      return { created: true, run_id: input.run_id, owner, consistency_token: token };
    } catch (err) {
      // lost a race for the claim (unique violation): answer as the winner decides
      if (!isUniqueViolation(err)) throw err;
      const winner = await this.deps.prisma.authzRunClaim.findUnique({ where: claimKey });
      if (!winner) throw err;
      return this.repeated(winner, owner);
    }
  }

  private repeated(claim: { runId: string; owner: string; eventId: string }, flwrAid: string) {
    if (claim.owner !== flwrAid) throw new ResourceError('run_exists', `Run ${claim.runId} of this service is registered to another account.`);
    return { created: false, run_id: claim.runId, owner: claim.owner, consistency_token: consistencyTokenFor(claim.eventId) };
  }
}

/**
 * The run's claim, once the caller may manage (or list) its members: the person acting (their
 * own token) owns it or administers its service, and a key sent along acts for that service.
 * Anything else is refused (403, audited).
 */
export async function authorizeRunManagement(deps: AuthzDeps, runId: string, caller: Caller, action: string, service?: string): Promise<RunClaim> {
  const named = { action, object: service === undefined ? runObject(runId) : serviceRunObject(service, runId) };
  const person = await deps.refusals.requirePerson(caller, named);
  if (service !== undefined) await deps.refusals.requireKeyInScope(caller, service, named);
  // the run id in the named service, else in the key's services, else in any (one, or name it)
  const claim = await deps.runs.claim(runId, service !== undefined ? [service] : (caller.key?.services ?? '*'));
  const attempt = { action, object: serviceRunObject(claim.service, runId) };
  await deps.refusals.requireKeyInScope(caller, claim.service, attempt);
  const actor = person.account.flwr_aid;
  if (claim.owner !== actor && !(await isServiceAdmin(deps, caller, actor, claim.service))) {
    await deps.refusals.refuseActor(caller, personPrincipal(person), attempt, `neither owns run ${runId} of service ${claim.service} nor administers that service.`);
  }
  return claim;
}

/** `PUT /v1/runs/{run_id}/members/{flwr_aid}`: the owner (or a service admin), by their own token, shares the run. */
export class ShareRun {
  constructor(private readonly deps: AuthzDeps) {}

  async execute(input: { run_id: string; flwr_aid: string; role: RunMemberRole; service?: string }, caller: Caller): Promise<{ consistency_token: string }> {
    const claim = await authorizeRunManagement(this.deps, input.run_id, caller, 'run.share', input.service);
    if (claim.owner === input.flwr_aid) {
      throw new InvalidRequestError('The owner already holds every permission on the run.', [{ field: 'flwr_aid', message: 'is the owner' }]);
    }
    const data = { run_id: input.run_id, service: claim.service, flwr_aid: input.flwr_aid, role: input.role, actor: personPrincipal(requirePerson(caller)) };
    return { consistency_token: await appendOwnershipEvent(this.deps, 'fedgate.run.shared.v1', data) };
  }
}

/** `DELETE /v1/runs/{run_id}/members/{flwr_aid}`: the share is taken back (idempotent). */
export class UnshareRun {
  constructor(private readonly deps: AuthzDeps) {}

  async execute(input: { run_id: string; flwr_aid: string; service?: string }, caller: Caller): Promise<{ consistency_token: string }> {
    const claim = await authorizeRunManagement(this.deps, input.run_id, caller, 'run.unshare', input.service);
    const data = { run_id: input.run_id, service: claim.service, flwr_aid: input.flwr_aid, actor: personPrincipal(requirePerson(caller)) };
    return { consistency_token: await appendOwnershipEvent(this.deps, 'fedgate.run.unshared.v1', data) };
  }
}

/**
 * Who may manage `service`'s members, or refused (403, audited): a person (their own token)
 * who is an admin of the service, with any key sent along acting for it; or, with no person,
 * an `authz-admin` key for the service (an operator's recovery), audited under the key's name.
 */
export async function authorizeServiceManagement(deps: AuthzDeps, service: string, caller: Caller, action: string): Promise<Principal> {
  const attempt = { action, object: serviceObject(service) };
  if (caller.person) {
    await deps.refusals.requireKeyInScope(caller, service, attempt);
    const actor = personPrincipal(caller.person);
    if (!(await isServiceAdmin(deps, caller, caller.person.account.flwr_aid, service))) {
      await deps.refusals.refuseActor(caller, actor, attempt, `is not an admin of service ${service}.`);
    }
    return actor;
  }
  const key = await deps.refusals.requireKeyRole(caller, ['authz-admin'], service, attempt);
  return keyPrincipal(key);
}

/**
 * The command-side roles of `service`, locked for this transaction (so two concurrent
 * demotions cannot both pass), and the 409 last_admin check: after the change the service
 * must still have an admin, or nobody could ever manage it again.
 */
async function guardLastAdmin(tx: DatabaseTransaction, service: string, flwrAid: string, nextRole: ServiceRole | null): Promise<void> {
  const admins = await tx.$queryRaw<Array<{ flwr_aid: string }>>`
    SELECT flwr_aid FROM authz_service_role WHERE service = ${service} AND role = 'admin' FOR UPDATE`;
  const remaining = admins.filter((a) => a.flwr_aid !== flwrAid).length + (nextRole === 'admin' ? 1 : 0);
  if (admins.length > 0 && remaining === 0) {
    throw new ResourceError('last_admin', `${flwrAid} is the only admin of service ${service}: make another account admin first.`);
  }
}

async function setServiceRole(tx: DatabaseTransaction, service: string, flwrAid: string, role: ServiceRole | null, eventId: string): Promise<void> {
  if (role === null) {
    await tx.$executeRaw`DELETE FROM authz_service_role WHERE service = ${service} AND flwr_aid = ${flwrAid}`;
    return;
  }
  await tx.$executeRaw`
    INSERT INTO authz_service_role (service, flwr_aid, role, event_id) VALUES (${service}, ${flwrAid}, ${role}, ${eventId}::uuid)
    ON CONFLICT (service, flwr_aid) DO UPDATE SET role = EXCLUDED.role, event_id = EXCLUDED.event_id`;
}

/** `PUT /v1/services/{service}/members/{flwr_aid}`: a service admin grants `member` (has_access) or `admin`. */
export class GrantServiceAccess {
  constructor(private readonly deps: AuthzDeps) {}

  async execute(input: { service: string; flwr_aid: string; role: ServiceRole }, caller: Caller): Promise<{ consistency_token: string }> {
    const actor = await authorizeServiceManagement(this.deps, input.service, caller, 'access.grant');
    const data = { service: input.service, flwr_aid: input.flwr_aid, role: input.role, actor };
    return {
      consistency_token: await appendOwnershipEvent(this.deps, 'fedgate.access.granted.v1', data, async (tx, event) => {
        await guardLastAdmin(tx, input.service, input.flwr_aid, input.role);
        await setServiceRole(tx, input.service, input.flwr_aid, input.role, event.id);
      }),
    };
  }
}

/** `DELETE /v1/services/{service}/members/{flwr_aid}`: a service admin removes every role of the account. */
export class RevokeServiceAccess {
  constructor(private readonly deps: AuthzDeps) {}

  async execute(input: { service: string; flwr_aid: string }, caller: Caller): Promise<{ consistency_token: string }> {
    const actor = await authorizeServiceManagement(this.deps, input.service, caller, 'access.revoke');
    const data = { service: input.service, flwr_aid: input.flwr_aid, actor };
    return {
      consistency_token: await appendOwnershipEvent(this.deps, 'fedgate.access.revoked.v1', data, async (tx, event) => {
        await guardLastAdmin(tx, input.service, input.flwr_aid, null);
        await setServiceRole(tx, input.service, input.flwr_aid, null, event.id);
      }),
    };
  }
}

/**
 * At start: the configured bootstrap account becomes admin of the configured service, by a
 * grant event with no actor (the system). Appended once per (service, account), so an admin
 * later revoked on purpose stays revoked across restarts.
 */
export class BootstrapServiceAdmin {
  constructor(private readonly deps: Pick<AuthzDeps, 'prisma' | 'outbox' | 'wakeRelay'>) {}

  async execute(service: string, flwrAid: string): Promise<boolean> {
    const done = await this.deps.prisma.authzBootstrapGrant.findUnique({ where: { service_flwrAid: { service, flwrAid } } });
    if (done) return false;
    try {
      await appendOwnershipEvent(this.deps, 'fedgate.access.granted.v1', { service, flwr_aid: flwrAid, role: 'admin', actor: null }, async (tx, event) => {
        await tx.authzBootstrapGrant.create({ data: { service, flwrAid, eventId: event.id } });
        await setServiceRole(tx, service, flwrAid, 'admin', event.id);
      });
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false; // another instance did it
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
  private readonly bootstrap: BootstrapServiceAdmin;

  constructor(private readonly deps: AuthzDeps) {
    this.bootstrap = new BootstrapServiceAdmin(deps);
  }

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
      if (!isUniqueViolation(err)) throw err; // another instance resolved it
    }
    return granted;
  }
}
