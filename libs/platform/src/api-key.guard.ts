import { CanActivate, ExecutionContext, Inject, Injectable, createParamDecorator } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { API_KEY_HEADER, ClientAuthenticationError, type RequestOrigin as Origin } from '@fedgate/contracts';

/**
 * A program calling Fedgate (a SuperLink, an operator's tooling), as its key is configured: its
 * name (the actor in the audit), its roles, and the services it acts for (`'*'`: every one).
 */
export interface ApiClient {
  client_id: string;
  roles: readonly string[];
  services: readonly string[] | '*';
}

/** A configured key: the client and the SHA-256 of its key (FEDGATE_API_KEYS holds hashes only). */
export interface ConfiguredKey extends ApiClient {
  keySha256: Buffer;
}

export const API_CLIENTS = Symbol('API_CLIENTS');

/** A configured key from the key itself (tests and tools; services read FEDGATE_API_KEYS). */
export function configuredKey(client_id: string, key: string, roles: readonly string[] = [], services: readonly string[] | '*' = []): ConfiguredKey {
  return { client_id, keySha256: createHash('sha256').update(key, 'utf8').digest(), roles, services };
}

/** Whether the client holds `role` for `service` (a key acts only for the services it is configured with). */
export function clientMayActFor(client: ApiClient, role: string, service: string): boolean {
  return client.roles.includes(role) && (client.services === '*' || client.services.includes(service));
}

/** The hash to configure for a key: `sha256hex` in FEDGATE_API_KEYS. */
export function apiKeyHash(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export type AuthenticatedRequest = FastifyRequest & { apiClient?: ApiClient };

/**
 * The client a presented `x-fedgate-key` belongs to; a missing, malformed or unknown key is
 * ClientAuthenticationError (401 invalid_client). Used by ApiKeyGuard and OptionalApiKeyGuard.
 */
export function authenticateApiKey(keys: readonly ConfiguredKey[], presented: string | string[] | undefined): ApiClient {
  if (typeof presented !== 'string' || presented.length === 0 || presented.length > 512) {
    throw new ClientAuthenticationError(`Missing or malformed ${API_KEY_HEADER} header.`);
  }
  const digest = createHash('sha256').update(presented, 'utf8').digest();
  // compare against every key in constant time: timing reveals neither which nor how much matched
  let match: ConfiguredKey | undefined;
  for (const key of keys) if (timingSafeEqual(digest, key.keySha256)) match = key;
  if (!match) throw new ClientAuthenticationError(`Unknown ${API_KEY_HEADER}.`);
  return { client_id: match.client_id, roles: match.roles, services: match.services };
}

/** Authenticates the caller by `x-fedgate-key`; a missing or wrong key is 401 invalid_client. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(@Inject(API_CLIENTS) private readonly keys: ConfiguredKey[]) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
    req.apiClient = authenticateApiKey(this.keys, req.headers[API_KEY_HEADER]);
    return true;
  }
}

/**
 * Authenticates `x-fedgate-key` when one is sent (a wrong one is still 401 invalid_client) and
 * lets a request without one through: for the calls a person may make with their own token alone.
 */
@Injectable()
export class OptionalApiKeyGuard implements CanActivate {
  constructor(@Inject(API_CLIENTS) private readonly keys: ConfiguredKey[]) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
    if (req.headers[API_KEY_HEADER] !== undefined) req.apiClient = authenticateApiKey(this.keys, req.headers[API_KEY_HEADER]);
    return true;
  }
}

/** The authenticated client and the caller's address, for audit events: `@RequestOrigin() origin: RequestOrigin`. */
export const RequestOrigin = createParamDecorator((_: unknown, context: ExecutionContext): RequestOrigin => requestOriginOf(context.switchToHttp().getRequest<AuthenticatedRequest>()));

/** Who sent a request, as the audit records it (the @RequestOrigin() decorator and the role guards). */
export function requestOriginOf(req: AuthenticatedRequest): RequestOrigin {
  return { client_id: req.apiClient?.client_id ?? 'anonymous', source_ip: req.ip };
}
export type RequestOrigin = Origin;
