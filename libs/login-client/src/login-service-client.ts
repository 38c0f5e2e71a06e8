import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { z } from 'zod';
import {
  API_KEY_HEADER,
  API_PATHS,
  DeviceAuthorizationResponseSchema,
  DeviceAuthorizeRequestSchema,
  DeviceTokenRequestSchema,
  ErrorBodySchema,
  TokenSetResponseSchema,
  describeFieldIssues,
  fedgateErrorFromResponse,
  fieldIssuesOf,
  parseOrThrow,
  type DeviceAuthorizationResponse,
  type FedgateError,
  type TokenSetResponse,
} from '@fedgate/contracts';
import { LoginClientError } from './errors';
import { postJson } from './post-json';

export const DEFAULT_LOGIN_TIMEOUT_MS = 10_000;

export interface LoginServiceClientOptions {
  /** The login service's base URL, e.g. `https://127.0.0.1:17001` (a path prefix is kept). */
  baseUrl: string;
  /** This client's key, sent as `x-fedgate-key`. */
  apiKey: string;
  /** Per-request timeout (default 10 s); a request without an answer in time is `login_service_unreachable`. */
  timeoutMs?: number;
  /**
   * Extra CA certificates (PEM text) to trust for https, in addition to Node's public
   * roots and NODE_EXTRA_CA_CERTS — e.g. the local stack's CA.
   */
  ca?: string | readonly string[];
  /** `user-agent` header (default `fedgate-login-client`). */
  userAgent?: string;
}

export interface RequestOptions {
  /** Cancels the request (`login_aborted`). */
  signal?: AbortSignal;
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Validates the base URL. Tokens come back over this connection, so plain http is
 * accepted only for loopback addresses (tests, local development).
 */
export function parseLoginServiceUrl(baseUrl: string): URL {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new LoginClientError('invalid_login_url', `The login service URL ${JSON.stringify(baseUrl)} is not a URL.`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))) {
    throw new LoginClientError('invalid_login_url', `The login service URL must use https (plain http only on a loopback address), not ${url.origin}.`);
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new LoginClientError('invalid_login_url', 'The login service URL must not carry credentials, a query or a fragment.');
  }
  return url;
}

function extraCaFromEnvironment(): string[] {
  const file = process.env.NODE_EXTRA_CA_CERTS;
  if (!file) return [];
  try {
    return [readFileSync(file, 'utf8')];
  } catch {
    return [];
  }
}

function describeTransportError(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

/**
 * Client of the login service's device-flow API (API.md § login-service):
 * JSON bodies, `x-fedgate-key`, a timeout on every request, answers validated with
 * the contracts' schemas. Error answers become `FedgateError`s with the service's
 * code (`authorization_pending`, `slow_down`, `expired_token`, `access_denied`,
 * `invalid_grant`, `invalid_client`, `idp_unavailable`, ...; unknown codes become
 * `internal_error`); transport failures and contract violations become `LoginClientError`s.
 */
export class LoginServiceClient {
  readonly baseUrl: URL;
  readonly timeoutMs: number;
  private readonly apiKey: string;
  private readonly ca: readonly string[] | undefined;
  private readonly userAgent: string;

  constructor(options: LoginServiceClientOptions) {
    this.baseUrl = parseLoginServiceUrl(options.baseUrl);
    if (!options.apiKey) throw new LoginClientError('missing_api_key', 'An API key is required to call the login service.');
    this.apiKey = options.apiKey;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_LOGIN_TIMEOUT_MS;
    if (!(this.timeoutMs > 0)) throw new RangeError('timeoutMs must be positive');
    const extra = options.ca === undefined ? [] : typeof options.ca === 'string' ? [options.ca] : [...options.ca];
    this.ca = extra.length > 0 ? [...rootCertificates, ...extraCaFromEnvironment(), ...extra] : undefined;
    this.userAgent = options.userAgent ?? 'fedgate-login-client';
  }

  /** `POST /v1/device/authorize`: starts an OIDC device login at the service's IdP. */
  async startDeviceLogin(scope?: string, options: RequestOptions = {}): Promise<DeviceAuthorizationResponse> {
    const body = parseOrThrow(DeviceAuthorizeRequestSchema, scope === undefined ? {} : { scope });
    return this.call(API_PATHS.login.deviceAuthorize, body, DeviceAuthorizationResponseSchema, options.signal);
  }

  /**
   * `POST /v1/device/token`: one poll. Resolves with the tokens once the user has
   * signed in; rejects with `authorization_pending` / `slow_down` while waiting, and
   * `expired_token` / `access_denied` / `invalid_grant` when the login is over.
   */
  async pollDeviceToken(deviceCode: string, options: RequestOptions = {}): Promise<TokenSetResponse> {
    const body = parseOrThrow(DeviceTokenRequestSchema, { device_code: deviceCode });
    return this.call(API_PATHS.login.deviceToken, body, TokenSetResponseSchema, options.signal);
  }

  private url(template: string): URL {
    const base = this.baseUrl.href.endsWith('/') ? this.baseUrl.href : `${this.baseUrl.href}/`;
    return new URL(template.replace(/^\//, ''), base);
  }

  private async call<S extends z.ZodType>(template: string, body: unknown, schema: S, callerSignal?: AbortSignal): Promise<z.output<S>> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = callerSignal ? AbortSignal.any([timeout, callerSignal]) : timeout;
    const url = this.url(template);
    let answer;
    try {
      answer = await postJson(url, body, {
        headers: { [API_KEY_HEADER]: this.apiKey, 'user-agent': this.userAgent },
        signal,
        ...(this.ca ? { ca: this.ca } : {}),
      });
    } catch (cause) {
      if (callerSignal?.aborted) throw new LoginClientError('login_aborted', 'The request to the login service was cancelled.', { cause });
      const reason = timeout.aborted ? `no answer within ${this.timeoutMs / 1000} s` : describeTransportError(cause);
      throw new LoginClientError('login_service_unreachable', `Cannot reach the login service at ${this.baseUrl.origin}: ${reason}.`, { cause });
    }

    let json: unknown;
    let isJson = true;
    try {
      json = JSON.parse(answer.text);
    } catch {
      isJson = false;
    }

    if (answer.status >= 200 && answer.status < 300) {
      if (!isJson) {
        throw new LoginClientError('invalid_response', `The login service answered ${template} with HTTP ${answer.status} but no JSON body.`, { status: answer.status });
      }
      const result = schema.safeParse(json);
      if (!result.success) {
        // zod's messages name fields and expectations, never the received (secret) values
        throw new LoginClientError(
          'invalid_response',
          `The login service's answer to ${template} does not match the contract: ${describeFieldIssues(fieldIssuesOf(result.error))}.`,
          { status: answer.status },
        );
      }
      return result.data;
    }
    throw this.errorOf(answer.status, isJson ? json : undefined);
  }

  private errorOf(status: number, json: unknown): FedgateError | LoginClientError {
    const body = ErrorBodySchema.safeParse(json);
    if (body.success) return fedgateErrorFromResponse(status, body.data);
    if (status === 502 || status === 503 || status === 504) {
      return new LoginClientError('login_service_unreachable', `The login service at ${this.baseUrl.origin} is unavailable (HTTP ${status}).`, { status });
    }
    return fedgateErrorFromResponse(status, json);
  }
}
