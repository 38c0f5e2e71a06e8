import { z } from 'zod';

/**
 * The catalogue of Fedgate's stable error codes. Clients (the SuperLink plugin,
 * the CLI) branch on `code`, never on text, so a code is never renamed; a new
 * failure gets a new code. RFC 6749 / RFC 8628 / RFC 6750 spellings are used
 * wherever an RFC defines the failure.
 *
 * `status` is the default HTTP status. A few codes are shared by two families
 * with different statuses (RFC 8628 answers `expired_token` with 400 for an
 * expired device code, token verification answers it with 401 for an expired
 * access token); the family classes below set those explicitly.
 */
export const ERROR_CATALOGUE = {
  // Caller authentication (x-fedgate-key) and request shape.
  invalid_client: { status: 401, summary: 'The calling client is not authenticated.' },
  invalid_request: { status: 400, summary: 'The request is malformed or misses a field.' },
  invalid_cursor: { status: 400, summary: 'The pagination cursor is not one this service issued.' },
  payload_too_large: { status: 413, summary: 'The request body is too large.' },
  unsupported_media_type: { status: 415, summary: 'The request body has an unsupported content type.' },
  too_many_requests: { status: 429, summary: 'The caller sends too many requests.' },

  // OAuth 2.0 / device flow (RFC 6749 §5.2, RFC 8628 §3.5): all 400.
  authorization_pending: { status: 400, summary: 'The user has not completed the sign-in yet.' },
  slow_down: { status: 400, summary: 'Polling too fast; increase the interval by 5 seconds.' },
  expired_token: { status: 400, summary: 'The device code or token has expired.' },
  access_denied: { status: 400, summary: 'The user denied the authorization request.' },
  invalid_grant: { status: 400, summary: 'The grant (device code or refresh token) is invalid.' },
  invalid_scope: { status: 400, summary: 'The requested scope is invalid.' },
  unauthorized_client: { status: 400, summary: 'The client may not use this grant type.' },
  unsupported_grant_type: { status: 400, summary: 'The grant type is not supported.' },

  // Bearer token verification (RFC 6750 §3.1).
  invalid_token: { status: 401, summary: 'The access token is invalid.' },
  revoked_token: { status: 401, summary: 'The access token has been revoked.' },
  insufficient_scope: { status: 403, summary: 'The access token lacks the required scope.' },

  // Authorization and resources.
  forbidden: { status: 403, summary: 'The acting account may not perform this action.' },
  not_found: { status: 404, summary: 'The resource does not exist.' },
  run_exists: { status: 409, summary: 'The run is already registered to another owner.' },
  last_admin: { status: 409, summary: 'The change would leave the service without an admin.' },

  // Events (not HTTP-facing; status applies if an event is ever posted over HTTP).
  invalid_event: { status: 400, summary: 'The event does not match its schema.' },
  unknown_event_type: { status: 400, summary: 'The event type is not in the catalogue.' },

  // Server side. Fail closed: an unreachable dependency is an error, never an allow.
  authz_unavailable: { status: 503, summary: 'The authorization backend cannot answer.' },
  consistency_timeout: { status: 503, summary: 'The write named by the consistency token is not applied yet; retry.' },
  idp_unavailable: { status: 503, summary: 'The identity provider cannot answer.' },
  dependency_unavailable: { status: 503, summary: 'A required dependency cannot answer.' },
  database_unavailable: { status: 503, summary: 'The database cannot answer; retry.' },
  kafka_unavailable: { status: 503, summary: 'Kafka cannot take the events now; they wait in the outbox.' },
  revocation_unavailable: { status: 503, summary: 'The list of revoked sessions is not known complete right now; retry.' },
  internal_error: { status: 500, summary: 'An unexpected error occurred.' },
} as const satisfies Record<string, { status: number; summary: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export const ERROR_CODES = Object.keys(ERROR_CATALOGUE) as ErrorCode[];

export const ErrorCodeSchema = z.enum(ERROR_CODES as [ErrorCode, ...ErrorCode[]]);

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CATALOGUE, value);
}

export function statusOfErrorCode(code: ErrorCode): number {
  return ERROR_CATALOGUE[code].status;
}

/** The JSON body of every Fedgate error answer (RFC 6749 §5.2 shape). */
export const ErrorBodySchema = z.object({
  error: z.string().min(1),
  error_description: z.string(),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

export interface FedgateErrorOptions {
  /** Overrides the catalogue status (for codes shared by families). */
  status?: number;
  cause?: unknown;
}

/**
 * A failure as a value with a stable `code`. The description is meant for
 * humans and may be shown to callers, so it must never contain secrets; the
 * stack trace stays server-side (`toJSON` returns only the public body).
 */
export class FedgateError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly description: string;

  constructor(code: ErrorCode, description?: string, options: FedgateErrorOptions = {}) {
    const text = description ?? ERROR_CATALOGUE[code].summary;
    super(text, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = options.status ?? ERROR_CATALOGUE[code].status;
    this.description = text;
  }

  toBody(): ErrorBody {
    return { error: this.code, error_description: this.description };
  }

  toJSON(): ErrorBody {
    return this.toBody();
  }
}

export function isFedgateError(value: unknown): value is FedgateError {
  return value instanceof FedgateError;
}

/** Caller authentication failed (missing or wrong `x-fedgate-key`). */
export class ClientAuthenticationError extends FedgateError {
  constructor(description?: string, options?: FedgateErrorOptions) {
    super('invalid_client', description, options);
  }
}

export type RequestErrorCode = 'invalid_request' | 'invalid_cursor' | 'payload_too_large' | 'unsupported_media_type' | 'too_many_requests';

/** The request itself is unacceptable. `fields` names what was wrong, for logs and clients. */
export class InvalidRequestError extends FedgateError {
  readonly fields: readonly FieldIssue[];

  constructor(description?: string, fields: readonly FieldIssue[] = [], code: RequestErrorCode = 'invalid_request') {
    super(code, description);
    this.fields = fields;
  }
}

export interface FieldIssue {
  /** Dotted path of the offending field, e.g. `checks[2].object`; empty for the whole body. */
  field: string;
  message: string;
}

export type OAuthErrorCode =
  | 'authorization_pending'
  | 'slow_down'
  | 'expired_token'
  | 'access_denied'
  | 'invalid_grant'
  | 'invalid_scope'
  | 'unauthorized_client'
  | 'unsupported_grant_type';

/** Device-flow / token-endpoint outcomes; always HTTP 400 as RFC 6749 §5.2 requires. */
export class OAuthError extends FedgateError {
  constructor(code: OAuthErrorCode, description?: string, options?: Omit<FedgateErrorOptions, 'status'>) {
    super(code, description, { ...options, status: 400 });
  }
}

export type TokenVerificationErrorCode = 'invalid_token' | 'expired_token' | 'revoked_token' | 'insufficient_scope';

/** A bearer token was refused; 401, or 403 for `insufficient_scope` (RFC 6750 §3.1). */
export class TokenVerificationError extends FedgateError {
  constructor(code: TokenVerificationErrorCode, description?: string, options?: Omit<FedgateErrorOptions, 'status'>) {
    super(code, description, { ...options, status: code === 'insufficient_scope' ? 403 : 401 });
  }
}

export type ResourceErrorCode = 'forbidden' | 'not_found' | 'run_exists' | 'last_admin';

/** The acting account may not do this, or the target is missing / taken. */
export class ResourceError extends FedgateError {
  constructor(code: ResourceErrorCode, description?: string, options?: Omit<FedgateErrorOptions, 'status'>) {
    super(code, description, options);
  }
}

export type DependencyErrorCode =
  | 'authz_unavailable'
  | 'idp_unavailable'
  | 'dependency_unavailable'
  | 'database_unavailable'
  | 'kafka_unavailable'
  | 'revocation_unavailable'
  | 'consistency_timeout';

/** A backend (OpenFGA, the IdP, Kafka, PostgreSQL) cannot answer: fail closed with 503. */
export class DependencyUnavailableError extends FedgateError {
  /** Which dependency failed, for logs (not part of the response body). */
  readonly dependency: string;

  constructor(code: DependencyErrorCode, dependency: string, description?: string, options?: Omit<FedgateErrorOptions, 'status'>) {
    super(code, description, options);
    this.dependency = dependency;
  }
}

/**
 * Rebuilds a FedgateError from an HTTP error answer (for clients of the REST
 * API). Unknown codes become `internal_error` but keep the received status.
 */
export function fedgateErrorFromResponse(status: number, body: unknown): FedgateError {
  const parsed = ErrorBodySchema.safeParse(body);
  if (!parsed.success) {
    return new FedgateError('internal_error', `Unexpected error answer (HTTP ${status}).`, { status });
  }
  const { error, error_description } = parsed.data;
  if (!isErrorCode(error)) {
    return new FedgateError('internal_error', `${error}: ${error_description}`, { status });
  }
  return new FedgateError(error, error_description, { status });
}
