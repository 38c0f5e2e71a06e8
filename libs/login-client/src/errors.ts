import { isFedgateError } from '@fedgate/contracts';

/**
 * Client-side failures that have no entry in the contracts' error catalogue.
 * Answers of the login service that carry a catalogue code are `FedgateError`s
 * (`authorization_pending`, `slow_down`, `expired_token`, `access_denied`,
 * `invalid_grant`, `invalid_client`, `idp_unavailable`, `dependency_unavailable`, ...).
 */
export const LOGIN_CLIENT_ERROR_CODES = [
  /** No answer: connection refused, DNS, TLS failure, or the request timed out. */
  'login_service_unreachable',
  /** The login service answered, but not with the documented shape. */
  'invalid_response',
  /** The caller's AbortSignal stopped the request or the wait. */
  'login_aborted',
  /** The base URL is not a URL, or uses plain http on a non-loopback host. */
  'invalid_login_url',
  /** No API key was given. */
  'missing_api_key',
] as const;

export type LoginClientErrorCode = (typeof LOGIN_CLIENT_ERROR_CODES)[number];

export interface LoginClientErrorOptions {
  /** HTTP status, when the service answered. */
  status?: number;
  cause?: unknown;
}

export class LoginClientError extends Error {
  readonly code: LoginClientErrorCode;
  readonly status: number | undefined;

  constructor(code: LoginClientErrorCode, message: string, options: LoginClientErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LoginClientError';
    this.code = code;
    this.status = options.status;
  }
}

export function isLoginClientError(value: unknown): value is LoginClientError {
  return value instanceof LoginClientError;
}

/** The stable code of a login-client failure (`FedgateError` or `LoginClientError`), else undefined. */
export function loginErrorCode(value: unknown): string | undefined {
  if (isFedgateError(value) || isLoginClientError(value)) return value.code;
  return undefined;
}
