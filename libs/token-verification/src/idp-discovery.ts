import { errors as joseErrors } from 'jose';
import * as oauth from 'oauth4webapi';
import { DependencyUnavailableError } from '@fedgate/contracts';

/**
 * The IdP's OpenID discovery document, fetched once (a failure is retried by the next call,
 * never cached), and the request options every oauth4webapi call to the IdP uses.
 */
export class IdpDiscovery {
  private discovery: Promise<oauth.AuthorizationServer> | undefined;

  constructor(
    private readonly issuer: string,
    private readonly fetchImpl: typeof fetch,
    private readonly requestTimeoutMs: number,
  ) {}

  discover(): Promise<oauth.AuthorizationServer> {
    if (this.discovery) return this.discovery;
    const pending = (async () => {
      const issuerUrl = new URL(this.issuer);
      let response: Response;
      try {
        response = await oauth.discoveryRequest(issuerUrl, { algorithm: 'oidc', ...this.requestOptions() });
      } catch (error: unknown) {
        throw idpUnavailable('the identity provider did not answer its discovery request', error);
      }
      try {
        return await oauth.processDiscoveryResponse(issuerUrl, response);
      } catch (error: unknown) {
        throw idpUnavailable('the identity provider answered its discovery request with an unusable document', error);
      }
    })();
    this.discovery = pending;
    // A failed discovery is retried by the next call, never cached.
    pending.catch(() => {
      if (this.discovery === pending) this.discovery = undefined;
    });
    return pending;
  }

  /** Per-request timeout and the injectable fetch, for oauth4webapi calls (GET discovery, POST introspection). */
  requestOptions<Method, Body>(): oauth.HttpRequestOptions<Method, Body> {
    return {
      signal: AbortSignal.timeout(this.requestTimeoutMs),
      [oauth.customFetch]: (url: string, init: oauth.CustomFetchOptions<Method, Body>) => this.fetchImpl(url, init as unknown as RequestInit),
    };
  }
}

/** The IdP could not be asked: 503 idp_unavailable, with what failed (never a token). */
export function idpUnavailable(what: string, cause: unknown): DependencyUnavailableError {
  if (cause instanceof DependencyUnavailableError) return cause;
  return new DependencyUnavailableError('idp_unavailable', 'idp', `${what}: ${describeCause(cause)}`, { cause });
}

export function describeCause(cause: unknown): string {
  if (cause instanceof oauth.ResponseBodyError) return `HTTP ${cause.status} ${cause.error}`;
  if (cause instanceof joseErrors.JWKSTimeout) return 'timed out';
  if (cause instanceof Error) {
    if (cause.name === 'TimeoutError' || cause.name === 'AbortError') return 'timed out';
    const code = (cause.cause as { code?: unknown } | undefined)?.code;
    return typeof code === 'string' ? `${cause.message} (${code})` : cause.message;
  }
  return String(cause);
}

