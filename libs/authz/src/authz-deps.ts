import type { OutboxStore, PrismaClient } from '@fedgate/database';
import type { AuthorizationStore } from './authorization-store';
import type { Caller, Refusals, VerifiedPerson } from './caller';
import type { QuestionScope } from './check-access.use-case';
import type { Decide } from './decide';
import type { RunResolver } from './object-services';
import type { ProjectionState } from './projection-state';

/**
 * Everything authz-service's use cases are built from, provided once by the app: each use case
 * takes this one object (`new RegisterRun(deps)`), so the app registers a use case with its name alone.
 */
export interface AuthzDeps {
  prisma: PrismaClient;
  outbox: OutboxStore;
  /** Cuts the relay's idle pause short, so the write reaches Kafka (and the projector) at once. */
  wakeRelay: () => void;
  decide: Decide;
  refusals: Refusals;
  runs: RunResolver;
  /** Which objects a key may ask about (its services), refusals recorded. */
  scope: QuestionScope;
  /** The read model's position: consistency tokens wait on it. */
  projection: ProjectionState;
  store: AuthorizationStore;
  /** Verifies a person's access token (token-verification's use case, audited there). */
  verifyPerson: VerifyPerson;
}

/** Verifies an access token as `/v1/verify` does; refused → TokenVerificationError (401), recorded. */
export type VerifyPerson = (accessToken: string, caller: Caller) => Promise<VerifiedPerson>;
