import type { RunMembersResponse, RunRole, ServiceMembersResponse, ServiceRole } from '@fedgate/contracts';
import type { Caller } from './caller';
import type { AuthzDeps } from './authz-deps';
import { authorizeRunManagement, authorizeServiceManagement } from './ownership-commands';

/**
 * `GET /v1/services/{service}/members`: who holds which role on the service, for its admins
 * (their own token) and for an `authz-admin` key of the service. Read from the command-side
 * roles, which every grant and revoke updates in its own transaction: always current.
 */
export class ListServiceMembers {
  constructor(private readonly deps: AuthzDeps) {}

  async execute(input: { service: string }, caller: Caller): Promise<ServiceMembersResponse> {
    await authorizeServiceManagement(this.deps, input.service, caller, 'service.members');
    const rows = await this.deps.prisma.authzServiceRole.findMany({ where: { service: input.service }, orderBy: [{ role: 'asc' }, { flwrAid: 'asc' }], select: { flwrAid: true, role: true } });
    return { members: rows.map((r) => ({ flwr_aid: r.flwrAid, role: r.role as ServiceRole })) };
  }
}

/**
 * `GET /v1/runs/{run_id}/members`: the owner and everyone the run is shared with, for the
 * owner and the service's admins (their own token). From the read model: pass a write's
 * consistency_token to see at least that write.
 */
export class ListRunMembers {
  constructor(private readonly deps: AuthzDeps) {}

  async execute(input: { run_id: string; service?: string; consistency_token?: string }, caller: Caller): Promise<RunMembersResponse> {
    const claim = await authorizeRunManagement(this.deps, input.run_id, caller, 'run.members', input.service);
    if (input.consistency_token) await this.deps.projection.waitForToken(input.consistency_token);
    const shared = await this.deps.prisma.authzRunMember.findMany({ where: { service: claim.service, runId: input.run_id }, orderBy: { flwrAid: 'asc' } });
    return {
      members: [{ flwr_aid: claim.owner, role: 'owner' as RunRole }, ...shared.map((m) => ({ flwr_aid: m.flwrAid, role: m.role as RunRole }))],
    };
  }
}
