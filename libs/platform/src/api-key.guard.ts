import { CanActivate, ExecutionContext, Inject, Injectable, createParamDecorator } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import { API_KEY_HEADER, ClientAuthenticationError } from '@fedgate/contracts';

/** A REST client of Fedgate (a SuperLink, an admin CLI) and what its key may do. */
export interface ApiClient {
  client_id: string;
  roles: string[];
}

export interface ConfiguredKey extends ApiClient {
  keySha256: Buffer;
}

export const API_CLIENTS = Symbol('API_CLIENTS');

/**
 * Parses FEDGATE_API_KEYS: comma-separated `client_id:sha256hex[:role+role]`. Keys are
 * configured as hashes, so the service never holds a usable key.
 */
export function parseApiKeys(value: string): ConfiguredKey[] {
  return value
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const [client_id, hash, roles = ''] = entry.split(':');
      if (!client_id || !/^[0-9a-f]{64}$/.test(hash ?? '')) throw new Error(`FEDGATE_API_KEYS: '${client_id ?? entry}' must be client_id:sha256hex[:roles]`);
      return { client_id, keySha256: Buffer.from(hash, 'hex'), roles: roles.split('+').filter(Boolean) };
    });
}

/** The hash to configure for a key: `sha256hex` in FEDGATE_API_KEYS. */
export function apiKeyHash(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export type AuthenticatedRequest = Request & { apiClient?: ApiClient };

/**
 * The client a presented `x-fedgate-key` belongs to; a missing, malformed or unknown key is
 * ClientAuthenticationError (401 invalid_client). Used by ApiKeyGuard and the fast JSON routes.
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
  return { client_id: match.client_id, roles: match.roles };
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

/** The authenticated client and the caller's address, for audit events. */
export const RequestOrigin = createParamDecorator((_: unknown, context: ExecutionContext) => {
  const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
  return { client_id: req.apiClient?.client_id ?? 'anonymous', source_ip: req.ip ?? req.socket.remoteAddress };
});
