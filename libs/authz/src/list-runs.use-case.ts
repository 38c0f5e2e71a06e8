import type { ListRunsResponse, ListedRunRole } from '@fedgate/contracts';
import type { Caller } from './caller';
import type { AuthzDeps } from './authz-deps';

const ROLE_STRENGTH: Record<ListedRunRole, number> = { owner: 4, operator: 3, viewer: 2, admin: 1 };

/**
 * `GET /v1/runs`: the runs the person whose token is sent may view, from the read model (the
 * same events as the OpenFGA tuples): owned, shared with them, and every run of a service they
 * administer. Each run once, with its strongest reason, its service and federation. With a
 * key, only the key's services (a `superlink` or `authz-admin` key); with the token alone, all.
 */
export class ListRuns {
  constructor(private readonly deps: AuthzDeps) {}

  async execute(query: { consistency_token?: string }, caller: Caller): Promise<ListRunsResponse> {
    const attempt = { action: 'run.list' };
    const flwrAid = (await this.deps.refusals.requirePerson(caller, attempt)).account.flwr_aid;
    const key = caller.key ? await this.deps.refusals.requireKeyRole(caller, ['superlink', 'authz-admin'], null, attempt) : undefined;
    const inServices = key && key.services !== '*' ? { service: { in: [...key.services] } } : {};
    if (query.consistency_token) await this.deps.projection.waitForToken(query.consistency_token);
    const runFields = { runId: true, service: true, federation: true } as const;
    const [owned, shared, administered] = await Promise.all([
      this.deps.prisma.authzRun.findMany({ where: { owner: flwrAid, ...inServices }, select: runFields }),
      this.deps.prisma.authzRunMember.findMany({ where: { flwrAid, run: inServices }, select: { role: true, run: { select: runFields } } }),
      this.deps.prisma.authzServiceMember.findMany({ where: { flwrAid, role: 'admin', ...inServices }, select: { service: true } }),
    ]);
    const adminRuns = administered.length
      ? await this.deps.prisma.authzRun.findMany({ where: { service: { in: administered.map((s) => s.service) } }, select: runFields })
      : [];
    type RunFields = { runId: string; service: string; federation: string | null };
    const roles = new Map<string, { run: RunFields; role: ListedRunRole }>();
    const offer = (run: RunFields, role: ListedRunRole) => {
      const known = roles.get(run.runId);
      if (!known || ROLE_STRENGTH[role] > ROLE_STRENGTH[known.role]) roles.set(run.runId, { run, role });
    };
    for (const r of owned) offer(r, 'owner');
    for (const m of shared) offer(m.run, m.role as ListedRunRole);
    for (const r of adminRuns) offer(r, 'admin');
    const runs = [...roles.values()].map(({ run, role }) => ({ run_id: run.runId, role, service: run.service, ...(run.federation ? { federation: run.federation } : {}) }));
    runs.sort((a, b) => (BigInt(a.run_id) < BigInt(b.run_id) ? -1 : BigInt(a.run_id) > BigInt(b.run_id) ? 1 : 0));
    return { runs };
  }
}
