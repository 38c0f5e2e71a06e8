import type { ListRunsResponse, ListedRunRole } from '@fedgate/contracts';
import type { PrismaClient } from '@fedgate/database';
import type { ProjectionState } from './projection-state';

const ROLE_STRENGTH: Record<ListedRunRole, number> = { owner: 4, operator: 3, viewer: 2, admin: 1 };

/**
 * `GET /v1/runs?flwr_aid=`: the runs an account may view, from the read model (the same
 * events as the OpenFGA tuples): owned, shared with it, and every run of a service it
 * administers. Each run once, with its strongest reason.
 */
export class ListRuns {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly projection: ProjectionState,
  ) {}

  async execute(query: { flwr_aid: string; consistency_token?: string }): Promise<ListRunsResponse> {
    if (query.consistency_token) await this.projection.waitForToken(query.consistency_token);
    const flwrAid = query.flwr_aid;
    const [owned, shared, administered] = await Promise.all([
      this.prisma.authzRun.findMany({ where: { owner: flwrAid }, select: { runId: true } }),
      this.prisma.authzRunMember.findMany({ where: { flwrAid }, select: { runId: true, role: true } }),
      this.prisma.authzServiceMember.findMany({ where: { flwrAid, role: 'admin' }, select: { service: true } }),
    ]);
    const adminRuns = administered.length
      ? await this.prisma.authzRun.findMany({ where: { service: { in: administered.map((s) => s.service) } }, select: { runId: true } })
      : [];
    const roles = new Map<string, ListedRunRole>();
    const offer = (runId: string, role: ListedRunRole) => {
      const known = roles.get(runId);
      if (!known || ROLE_STRENGTH[role] > ROLE_STRENGTH[known]) roles.set(runId, role);
    };
    for (const r of owned) offer(r.runId, 'owner');
    for (const m of shared) offer(m.runId, m.role as ListedRunRole);
    for (const r of adminRuns) offer(r.runId, 'admin');
    const runs = [...roles].map(([run_id, role]) => ({ run_id, role }));
    runs.sort((a, b) => (BigInt(a.run_id) < BigInt(b.run_id) ? -1 : BigInt(a.run_id) > BigInt(b.run_id) ? 1 : 0));
    return { runs };
  }
}
