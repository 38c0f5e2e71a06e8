import { InvalidRequestError, ResourceError, serviceRunObject, tryParseObjectRef } from '@fedgate/contracts';
import type { PrismaClient } from '@fedgate/database';
import type { CallingKey } from './caller';

/** A run, as stored: run ids are unique per service only. */
export interface RunClaim {
  runId: string;
  service: string;
  owner: string;
  eventId: string;
}

/** Where a request's question is about: the service it belongs to and the object as stored. */
export interface ResolvedObject {
  /** null: a run this key's services do not have (nothing of anyone's to learn about it). */
  service: string | null;
  /** `service:X`, or `run:<service>/<id>` (`run:<id>` as asked when unresolved: no tuple has that form). */
  object: string;
}

/**
 * Reads `run:<id>` in the caller's service: a SuperLink numbers its own runs, so the same id in
 * two services names two runs. A key acting for one service means that service's run; a key for
 * several (or a person without a key) means the one run with that id among them, and a name
 * (`service`) when there are several.
 */
export class RunResolver {
  constructor(private readonly prisma: PrismaClient) {}

  /** The claims of `runId` within `services` ('*': any). */
  claims(runId: string, services: readonly string[] | '*'): Promise<RunClaim[]> {
    return this.prisma.authzRunClaim.findMany({
      where: { runId, ...(services === '*' ? {} : { service: { in: [...services] } }) },
      select: { runId: true, service: true, owner: true, eventId: true },
      take: 2,
    });
  }

  /** The one claim of `runId` in `services`: 404 not_found if none, 400 when ambiguous. */
  async claim(runId: string, services: readonly string[] | '*'): Promise<RunClaim> {
    const found = await this.claims(runId, services);
    if (found.length === 0) throw new ResourceError('not_found', `Run ${runId} is not registered${services === '*' ? '' : ` in ${services.join(', ')}`}.`);
    if (found.length > 1) {
      throw new InvalidRequestError(`Run ${runId} exists in several services: name the service.`, [{ field: 'service', message: 'required: the run id is not unique across services' }]);
    }
    return found[0]!;
  }

  /** A key's question object, in the key's service (see the class comment). */
  async resolve(key: CallingKey, object: string): Promise<ResolvedObject> {
    const parsed = tryParseObjectRef(object);
    if (!parsed.ok || parsed.ref.type !== 'run') return { service: parsed.ok && parsed.ref.type === 'service' ? parsed.ref.id : null, object };
    const runId = parsed.ref.id;
    if (key.services !== '*' && key.services.length === 1) return { service: key.services[0]!, object: serviceRunObject(key.services[0]!, runId) };
    const found = await this.claims(runId, key.services);
    if (found.length > 1) {
      throw new InvalidRequestError(`Run ${runId} exists in several services of key ${key.client_id}.`, [{ field: 'object', message: 'ambiguous run id' }]);
    }
    return found.length === 1 ? { service: found[0]!.service, object: serviceRunObject(found[0]!.service, runId) } : { service: null, object };
  }
}
