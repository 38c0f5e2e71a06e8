import { RUN_MEMBER_ROLES, RUN_SERVICE_RELATION, SERVICE_ROLE_RELATION, accountUser, serviceObject, serviceRunObject, type FedgateEvent } from '@fedgate/contracts';
import type { TupleKey } from '@fedgate/openfga';

/** The ownership topic's event types: the projector's input. */
export const OWNERSHIP_EVENT_TYPES = [
  'fedgate.run.registered.v1',
  'fedgate.run.shared.v1',
  'fedgate.run.unshared.v1',
  'fedgate.access.granted.v1',
  'fedgate.access.revoked.v1',
] as const;
export type OwnershipEventType = (typeof OWNERSHIP_EVENT_TYPES)[number];
export type OwnershipEvent = FedgateEvent<OwnershipEventType>;

export function isOwnershipEvent(event: FedgateEvent): event is OwnershipEvent {
  return (OWNERSHIP_EVENT_TYPES as readonly string[]).includes(event.type);
}

export interface TupleChange {
  writes: TupleKey[];
  deletes: TupleKey[];
}

const SERVICE_RELATIONS = Object.values(SERVICE_ROLE_RELATION);

/**
 * The OpenFGA tuples one ownership event writes and deletes; a run is `run:<service>/<id>`
 * (events from before issue #14 name no service: the configured default's). Every change is a state, not a
 * delta (a share replaces the account's earlier role, a revoke removes every role), so
 * applying an event twice, or replaying the topic, ends in the same tuples.
 */
export function tupleChangeOf(event: OwnershipEvent, defaultService: string): TupleChange {
  switch (event.type) {
    case 'fedgate.run.registered.v1': {
      const service = event.data.service ?? defaultService;
      const run = serviceRunObject(service, event.data.run_id);
      return {
        writes: [
          { user: accountUser(event.data.owner), relation: 'owner', object: run },
          { user: serviceObject(service), relation: RUN_SERVICE_RELATION, object: run },
        ],
        deletes: [],
      };
    }
    case 'fedgate.run.shared.v1': {
      const run = serviceRunObject(event.data.service ?? defaultService, event.data.run_id);
      const user = accountUser(event.data.flwr_aid);
      return {
        writes: [{ user, relation: event.data.role, object: run }],
        deletes: RUN_MEMBER_ROLES.filter((r) => r !== event.data.role).map((relation) => ({ user, relation, object: run })),
      };
    }
    case 'fedgate.run.unshared.v1': {
      const user = accountUser(event.data.flwr_aid);
      const run = serviceRunObject(event.data.service ?? defaultService, event.data.run_id);
      return { writes: [], deletes: RUN_MEMBER_ROLES.map((relation) => ({ user, relation, object: run })) };
    }
    case 'fedgate.access.granted.v1': {
      const service = serviceObject(event.data.service);
      const user = accountUser(event.data.flwr_aid);
      const relation = SERVICE_ROLE_RELATION[event.data.role];
      return {
        writes: [{ user, relation, object: service }],
        deletes: SERVICE_RELATIONS.filter((r) => r !== relation).map((r) => ({ user, relation: r, object: service })),
      };
    }
    case 'fedgate.access.revoked.v1': {
      const user = accountUser(event.data.flwr_aid);
      return { writes: [], deletes: SERVICE_RELATIONS.map((relation) => ({ user, relation, object: serviceObject(event.data.service) })) };
    }
  }
}
