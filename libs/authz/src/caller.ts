import {
  InvalidRequestError,
  ResourceError,
  TokenVerificationError,
  describePrincipal,
  requestRefusedEvent,
  type Account,
  type ApiKeyRole,
  type Principal,
  type RequestOrigin,
} from '@fedgate/contracts';
import type { OutboxGroupWriter } from '@fedgate/database';
import { AUTHZ_EVENT_SOURCE } from './decide';

/** A service key as configured (structurally platform's ApiClient). */
export interface CallingKey {
  client_id: string;
  roles: readonly string[];
  services: readonly string[] | '*';
}

/** A person proven by their own access token (verified as `/v1/verify` does). */
export interface VerifiedPerson {
  account: Account;
  /** sha256Hex of the token: recorded, never the token. */
  token_hash: string;
}

/**
 * Who is calling (API.md "Who is calling"): the program by its key, the person by their own
 * token; either may be missing. Nothing from the request body ever names an actor.
 */
export interface Caller {
  key?: CallingKey;
  person?: VerifiedPerson;
  origin: RequestOrigin;
}

/** What was attempted, for the refusal's audit event. */
export interface Attempt {
  action: string;
  object?: string;
}

export function keyHolds(key: CallingKey, role: ApiKeyRole, service: string | null): boolean {
  return key.roles.includes(role) && (service === null || key.services === '*' || key.services.includes(service));
}

/** Whether the key acts for `service` at all (with any role). */
export function keyActsFor(key: CallingKey, service: string): boolean {
  return key.services === '*' || key.services.includes(service);
}

export function personPrincipal(person: VerifiedPerson): Principal {
  return { kind: 'person', flwr_aid: person.account.flwr_aid, account_name: person.account.account_name };
}

export function keyPrincipal(key: CallingKey): Principal {
  return { kind: 'key', name: key.client_id };
}

/** The service a key-scoped call is for: the one named, else the key's only service. */
export function serviceForKey(key: CallingKey, named: string | undefined): string {
  if (named !== undefined) return named;
  if (key.services !== '*' && key.services.length === 1) return key.services[0]!;
  throw new InvalidRequestError(`Key ${key.client_id} acts for several services: name the service.`, [{ field: 'service', message: 'required for this key' }]);
}

const PERSON_NEEDED = "This call needs the acting person's own access token (Authorization: Bearer <access token>).";

/** The person of a call made with their token (checked already by the refusing variant below). */
export function requirePerson(caller: Caller): VerifiedPerson {
  if (!caller.person) throw new TokenVerificationError('invalid_token', PERSON_NEEDED);
  return caller.person;
}

/**
 * Refuses a request with 403 forbidden after recording a `fedgate.request.refused.v1` event
 * (durably in the outbox first: a refusal that cannot be audited is a 503, not a 403), whose
 * actor is the key or the verified person that asked.
 */
export class Refusals {
  constructor(private readonly audit: Pick<OutboxGroupWriter, 'append'>) {}

  async refuse(caller: Caller, actor: Principal, attempt: Attempt, reason: string): Promise<never> {
    await this.audit.append(
      requestRefusedEvent(AUTHZ_EVENT_SOURCE, {
        actor,
        client_id: actor.kind === 'person' ? caller.key?.client_id : undefined,
        action: attempt.action,
        object: attempt.object,
        reason,
        origin: caller.origin,
      }),
    );
    throw new ResourceError('forbidden', reason);
  }

  /** The key must hold `role` for `service` (null: an operation on no one service, e.g. a rebuild). */
  async requireKeyRole(caller: Caller, roles: readonly ApiKeyRole[], service: string | null, attempt: Attempt): Promise<CallingKey> {
    const key = caller.key;
    if (!key) throw new ResourceError('forbidden', `This call needs a service key with the ${roles.join(' or ')} role.`);
    if (roles.some((role) => keyHolds(key, role, service))) return key;
    const scope = service === null ? '' : ` for service ${service}`;
    return this.refuse(caller, keyPrincipal(key), attempt, `Key ${key.client_id} does not hold the ${roles.join(' or ')} role${scope}.`);
  }

  /** A key sent along with a person's token must still act for the service concerned. */
  async requireKeyInScope(caller: Caller, service: string, attempt: Attempt): Promise<void> {
    if (caller.key && !keyActsFor(caller.key, service)) {
      await this.refuse(caller, keyPrincipal(caller.key), attempt, `Key ${caller.key.client_id} does not act for service ${service}.`);
    }
  }

  /**
   * The person a call needs: a key alone never acts as one (403, audited under its name);
   * neither key nor token is a 401 invalid_token.
   */
  async requirePerson(caller: Caller, attempt: Attempt): Promise<VerifiedPerson> {
    if (!caller.person && caller.key) {
      await this.refuse(caller, keyPrincipal(caller.key), attempt, `Key ${caller.key.client_id} cannot act as a person here: send the acting person's own access token.`);
    }
    return requirePerson(caller);
  }

  /** A refusal of the person (or key) acting: `who` did not have the right. */
  refuseActor(caller: Caller, actor: Principal, attempt: Attempt, why: string): Promise<never> {
    return this.refuse(caller, actor, attempt, `${describePrincipal(actor)} ${why}`);
  }
}
