import type { OutboxStore, PrismaClient } from '@fedgate/database';
import type { IdentityProviderClient } from './identity-provider.client';

/** How long device logins live and how fast callers may poll (RFC 8628). */
export interface DeviceFlowPolicy {
  /** Used when the IdP names no interval (RFC 8628 §3.2 default). */
  defaultIntervalSeconds: number;
}

export const DEFAULT_DEVICE_FLOW_POLICY: DeviceFlowPolicy = { defaultIntervalSeconds: 5 };

export const LOGIN_EVENT_SOURCE = '/fedgate/login-service';

/** What bounds a session: its live tokens, and how long its revocation is kept. */
export interface SessionPolicy {
  /** Most unexpired access tokens one session may hold; a refresh beyond is refused (invalid_grant). */
  maxTokens: number;
  /** How long a revoked session is refused: the longest an access token of the IdP can live. */
  revocationRetainSeconds: number;
}

export const DEFAULT_SESSION_POLICY: SessionPolicy = { maxTokens: 100, revocationRetainSeconds: 86_400 };

/**
 * Everything login-service's use cases are built from, provided once by the app: each use
 * case takes this one object (`new PollDeviceLogin(deps)`).
 */
export interface LoginDeps {
  prisma: PrismaClient;
  outbox: OutboxStore;
  idp: IdentityProviderClient;
  deviceFlow: DeviceFlowPolicy;
  sessions: SessionPolicy;
}
