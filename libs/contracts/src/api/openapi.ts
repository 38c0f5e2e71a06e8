import { z } from 'zod';
import { ERROR_CATALOGUE, ErrorBodySchema, type ErrorCode } from '../errors';
import {
  ActiveVerifyResultSchema,
  DeviceAuthorizationResponseSchema,
  InactiveVerifyResultSchema,
  TokenSetResponseSchema,
} from '../tokens';
import { API_KEY_HEADER, API_PATHS } from './http';
import {
  DeviceAuthorizeRequestSchema,
  DeviceTokenRequestSchema,
  LogoutRequestSchema,
  OAuthDeviceAuthorizationFormSchema,
  OAuthDeviceAuthorizationResponseSchema,
  OAuthTokenFormSchema,
  OAuthTokenResponseSchema,
  RefreshRequestSchema,
} from './login-api';
import { IntrospectionFormSchema, IntrospectionResponseSchema, UserInfoResponseSchema, VerifyRequestSchema } from './token-api';
import {
  BatchCheckRequestSchema,
  BatchCheckResponseSchema,
  CheckRequestSchema,
  CheckResponseSchema,
  DeleteRunMemberRequestSchema,
  DeleteServiceMemberRequestSchema,
  ListRunsQuerySchema,
  ListRunsResponseSchema,
  PutRunMemberRequestSchema,
  PutServiceMemberRequestSchema,
  RebuildResponseSchema,
  RegisterRunRequestSchema,
  RegisterRunResponseSchema,
  RunMemberParamsSchema,
  RunMembersQuerySchema,
  RunMembersResponseSchema,
  RunParamsSchema,
  ServiceMemberParamsSchema,
  ServiceMembersQuerySchema,
  ServiceMembersResponseSchema,
  ServiceParamsSchema,
  AuthorizeRejectedSchema,
  AuthorizeRequestSchema,
  AuthorizeResponseSchema,
  WriteResponseSchema,
} from './authz-api';
import { OpenFgaCheckParamsSchema, OpenFgaCheckRequestSchema, OpenFgaCheckResponseSchema } from './openfga-check-api';
import {
  AuditCheckpointListResponseSchema,
  AuditEventListResponseSchema,
  AuditEventParamsSchema,
  AuditEventQuerySchema,
  IntegrityQuerySchema,
  AuditEventSchema,
  AuditExportQuerySchema,
  IntegrityResponseSchema,
} from './audit-api';
import { HealthResponseSchema, ReadinessResponseSchema } from './health-api';

/**
 * The OpenAPI 3.1 description of each service, generated from the same zod
 * schemas the services validate with, so the published document cannot drift
 * from the code. `OPENAPI_OPERATIONS` is the catalogue (one entry per API.md
 * call); `openApiDocument` renders it.
 */

export type OpenApiService = 'login' | 'token' | 'authz' | 'audit';
export const OPENAPI_SERVICES: readonly OpenApiService[] = ['login', 'token', 'authz', 'audit'];

export type OpenApiHttpMethod = 'get' | 'post' | 'put' | 'delete';

/**
 * `apiKey`: the x-fedgate-key header; `bearer`: a user's access token; `person`: a person's own
 * token, with or without a service key sent along (or an `authz-admin` key alone); `none`: public.
 */
export type OpenApiSecurity = 'apiKey' | 'bearer' | 'person' | 'none';

/** A schema published under `components/schemas/<name>`. */
export interface OpenApiNamedSchema {
  readonly name: string;
  readonly schema: z.ZodType;
}

const MEDIA_JSON = 'application/json';
const MEDIA_FORM = 'application/x-www-form-urlencoded';

export interface OpenApiSuccessResponse {
  readonly status: number;
  readonly description: string;
  /** Defaults to JSON; omitted together with `schema` for an empty answer (204). */
  readonly mediaType?: string;
  /** A named component, or an inline JSON Schema for non-JSON answers (text, HTML). */
  readonly schema?: OpenApiNamedSchema | { readonly inline: Readonly<Record<string, unknown>> };
}

export interface OpenApiOperation {
  readonly operationId: string;
  readonly method: OpenApiHttpMethod;
  /** OpenAPI template form, e.g. `/v1/runs/{run_id}/members/{flwr_aid}` (API_PATHS already uses it). */
  readonly path: string;
  readonly summary: string;
  readonly description?: string;
  readonly tag: string;
  readonly security: OpenApiSecurity;
  /** Object schema of the `{param}` placeholders; a placeholder it does not name is a plain string. */
  readonly pathParams?: z.ZodType;
  /** Object schema of the query string. */
  readonly query?: z.ZodType;
  readonly requestBody?: { readonly mediaType: typeof MEDIA_JSON | typeof MEDIA_FORM; readonly schema: OpenApiNamedSchema; readonly description?: string };
  readonly responses: readonly OpenApiSuccessResponse[];
  /** Error codes this call can answer, each with its ERROR_CATALOGUE status unless `errorStatus` overrides it. */
  readonly errors: readonly ErrorCode[];
  /** For codes shared by two families (e.g. `expired_token`: 400 in the device flow, 401 for a bearer token). */
  readonly errorStatus?: Partial<Record<ErrorCode, number>>;
  /** A status whose body may also take a richer shape than ErrorBody (it is still an ErrorBody). */
  readonly errorBodies?: Readonly<Record<number, OpenApiNamedSchema>>;
}

const named = (name: string, schema: z.ZodType): OpenApiNamedSchema => ({ name, schema });

// Named schemas, by the contracts name without its `Schema` suffix.
const ErrorBody = named('ErrorBody', ErrorBodySchema);

// Ops answers as OpsController serves them (health-api.ts).
const OpsHealth = named('OpsHealthResponse', HealthResponseSchema);
const OpsReady = named('OpsReadyResponse', ReadinessResponseSchema);
const OpsCheckStates = ReadinessResponseSchema.shape.checks;
const OpsNotReady = named('OpsNotReadyResponse', ErrorBodySchema.extend({ checks: OpsCheckStates }));
// Permissive: the OpenAPI document itself is not described by a contracts schema.
const OpenApiDocumentShape = named('OpenApiDocument', z.looseObject({ openapi: z.string() }));

const textBody = { inline: { type: 'string' } } as const;

/** Request-shape failures of any call with a body (validBody, body-parser). */
const BODY_ERRORS: readonly ErrorCode[] = ['invalid_request', 'payload_too_large', 'unsupported_media_type'];
/** Every /v1 call guarded by ApiKeyGuard. */
const KEYED: readonly ErrorCode[] = ['invalid_client'];
/** Any call may be shed (503 `overloaded`, Retry-After) when the service is at its limit of requests in progress. */
/** A key used outside its roles or services (403 forbidden, audited): login and token calls need the superlink role. */
const SCOPED: readonly ErrorCode[] = [...KEYED, 'forbidden'];
const ALWAYS: readonly ErrorCode[] = ['overloaded', 'internal_error'];
/** Every call that reads or writes PostgreSQL (each answered call is audited through the outbox). */
const STORED: readonly ErrorCode[] = ['database_unavailable', ...ALWAYS];
/** Calls that verify a person's token: also refused while the revoked-session list is not known complete. */
const VERIFYING: readonly ErrorCode[] = ['revocation_unavailable', ...STORED];
const DEVICE_POLL_ERRORS: readonly ErrorCode[] = ['authorization_pending', 'slow_down', 'expired_token', 'access_denied', 'invalid_grant'];
const BEARER_REJECTIONS: readonly ErrorCode[] = ['invalid_token', 'expired_token', 'revoked_token'];

const json = (status: number, description: string, schema: OpenApiNamedSchema): OpenApiSuccessResponse => ({ status, description, schema });

/** /healthz, /readyz, /metrics and this document's own two routes: the same on every service. */
export const OPENAPI_COMMON_OPERATIONS: readonly OpenApiOperation[] = [
  {
    operationId: 'healthz',
    method: 'get',
    path: API_PATHS.common.health,
    summary: 'Liveness: the process answers.',
    tag: 'ops',
    security: 'none',
    responses: [json(200, 'The process is alive.', OpsHealth)],
    errors: [],
  },
  {
    operationId: 'readyz',
    method: 'get',
    path: API_PATHS.common.ready,
    summary: 'Readiness: every dependency is reachable.',
    tag: 'ops',
    security: 'none',
    responses: [json(200, 'Every dependency answers.', OpsReady)],
    errors: ['dependency_unavailable'],
    errorBodies: { 503: OpsNotReady },
  },
  {
    operationId: 'metrics',
    method: 'get',
    path: API_PATHS.common.metrics,
    summary: 'Prometheus metrics (text exposition format 0.0.4).',
    tag: 'ops',
    security: 'none',
    responses: [{ status: 200, description: 'Prometheus text format.', mediaType: 'text/plain; version=0.0.4', schema: textBody }],
    errors: ALWAYS,
  },
  {
    operationId: 'openapi',
    method: 'get',
    path: API_PATHS.common.openapi,
    summary: "This service's OpenAPI 3.1 document.",
    tag: 'ops',
    security: 'none',
    responses: [json(200, 'The OpenAPI document.', OpenApiDocumentShape)],
    errors: [],
  },
  {
    operationId: 'docs',
    method: 'get',
    path: API_PATHS.common.docs,
    summary: 'The OpenAPI document rendered with Swagger UI.',
    tag: 'ops',
    security: 'none',
    responses: [{ status: 200, description: 'An HTML page.', mediaType: 'text/html', schema: textBody }],
    errors: [],
  },
];

const LOGIN_OPERATIONS: readonly OpenApiOperation[] = [
  {
    operationId: 'deviceAuthorize',
    method: 'post',
    path: API_PATHS.login.deviceAuthorize,
    summary: "Start a device login (Flower's GetLoginDetails).",
    tag: 'device flow',
    security: 'apiKey',
    requestBody: { mediaType: MEDIA_JSON, schema: named('DeviceAuthorizeRequest', DeviceAuthorizeRequestSchema), description: '`{}` or `{"scope": "..."}`.' },
    responses: [json(200, 'A device authorization for the CLI to show.', named('DeviceAuthorizationResponse', DeviceAuthorizationResponseSchema))],
    errors: [...SCOPED, ...BODY_ERRORS, 'invalid_scope', 'idp_unavailable', ...STORED],
  },
  {
    operationId: 'deviceToken',
    method: 'post',
    path: API_PATHS.login.deviceToken,
    summary: 'Poll for the tokens of a device login.',
    tag: 'device flow',
    security: 'apiKey',
    requestBody: { mediaType: MEDIA_JSON, schema: named('DeviceTokenRequest', DeviceTokenRequestSchema) },
    responses: [json(200, 'The sign-in completed: tokens and their account.', named('TokenSetResponse', TokenSetResponseSchema))],
    errors: [...SCOPED, ...BODY_ERRORS, ...DEVICE_POLL_ERRORS, 'idp_unavailable', ...STORED],
  },
  {
    operationId: 'refreshTokens',
    method: 'post',
    path: API_PATHS.login.refresh,
    summary: 'Exchange a refresh token for new tokens (the old one is spent).',
    tag: 'device flow',
    security: 'apiKey',
    requestBody: { mediaType: MEDIA_JSON, schema: named('RefreshRequest', RefreshRequestSchema) },
    responses: [json(200, 'New tokens and their account.', named('TokenSetResponse', TokenSetResponseSchema))],
    errors: [...SCOPED, ...BODY_ERRORS, 'invalid_grant', 'idp_unavailable', ...STORED],
  },
  {
    operationId: 'logout',
    method: 'post',
    path: API_PATHS.login.logout,
    summary: 'End a session everywhere.',
    // the schema's refine (one of the two tokens is required) is not expressible by zod's JSON Schema output
    description: 'At least one of `refresh_token` and `access_token` is required.',
    tag: 'device flow',
    security: 'apiKey',
    requestBody: { mediaType: MEDIA_JSON, schema: named('LogoutRequest', LogoutRequestSchema) },
    responses: [{ status: 204, description: 'The session is revoked.' }],
    errors: [...SCOPED, ...BODY_ERRORS, 'idp_unavailable', ...STORED],
  },
  {
    operationId: 'oauthDeviceAuthorization',
    method: 'post',
    path: API_PATHS.login.oauthDeviceAuthorization,
    summary: 'RFC 8628 device authorization endpoint (for SuperLinks configured with an authn_url).',
    tag: 'oauth2',
    security: 'none',
    requestBody: { mediaType: MEDIA_FORM, schema: named('OAuthDeviceAuthorizationForm', OAuthDeviceAuthorizationFormSchema) },
    responses: [json(200, 'RFC 8628 §3.2 device authorization response.', named('OAuthDeviceAuthorizationResponse', OAuthDeviceAuthorizationResponseSchema))],
    errors: [...BODY_ERRORS, 'invalid_scope', 'idp_unavailable', ...STORED],
  },
  {
    operationId: 'oauthToken',
    method: 'post',
    path: API_PATHS.login.oauthToken,
    summary: 'RFC 6749 token endpoint: device-code poll or refresh (for SuperLinks configured with a token_url).',
    tag: 'oauth2',
    security: 'none',
    requestBody: { mediaType: MEDIA_FORM, schema: named('OAuthTokenForm', OAuthTokenFormSchema) },
    responses: [json(200, 'RFC 6749 §5.1 token response.', named('OAuthTokenResponse', OAuthTokenResponseSchema))],
    // an unknown grant_type is answered unsupported_grant_type (RFC 6749 §5.2)
    errors: [...BODY_ERRORS, ...DEVICE_POLL_ERRORS, 'unsupported_grant_type', 'idp_unavailable', ...STORED],
  },
];

const TOKEN_OPERATIONS: readonly OpenApiOperation[] = [
  {
    operationId: 'verifyToken',
    method: 'post',
    path: API_PATHS.token.verify,
    summary: "Verify a CLI access token and name its account.",
    tag: 'tokens',
    security: 'apiKey',
    requestBody: { mediaType: MEDIA_JSON, schema: named('VerifyRequest', VerifyRequestSchema) },
    responses: [json(200, 'The token is active.', named('ActiveVerifyResult', ActiveVerifyResultSchema))],
    errors: [...SCOPED, ...BODY_ERRORS, ...BEARER_REJECTIONS, 'idp_unavailable', ...VERIFYING],
    errorStatus: { expired_token: 401 },
    // a refused token answers `{active:false, error, error_description}`; a refused key the plain body
    errorBodies: { 401: named('InactiveVerifyResult', InactiveVerifyResultSchema) },
  },
  {
    operationId: 'userinfo',
    method: 'get',
    path: API_PATHS.token.userinfo,
    summary: 'OIDC UserInfo of the bearer token (for SuperLinks configured with a validate_url).',
    tag: 'tokens',
    security: 'bearer',
    responses: [json(200, 'OIDC UserInfo claims.', named('UserInfoResponse', UserInfoResponseSchema))],
    errors: ['invalid_request', ...BEARER_REJECTIONS, 'idp_unavailable', ...VERIFYING],
    errorStatus: { expired_token: 401 },
  },
  {
    operationId: 'introspect',
    method: 'post',
    path: API_PATHS.token.introspect,
    summary: 'RFC 7662 token introspection.',
    description: 'An invalid, expired or revoked token answers 200 `{"active": false}`, as RFC 7662 requires.',
    tag: 'tokens',
    security: 'apiKey',
    requestBody: { mediaType: MEDIA_FORM, schema: named('IntrospectionForm', IntrospectionFormSchema) },
    responses: [json(200, 'RFC 7662 §2.2 introspection response.', named('IntrospectionResponse', IntrospectionResponseSchema))],
    errors: [...SCOPED, ...BODY_ERRORS, 'idp_unavailable', ...VERIFYING],
  },
];

const WriteResponse = named('WriteResponse', WriteResponseSchema);
/** Calls a person makes with their own token (key optional). */
const PERSONAL: readonly ErrorCode[] = ['invalid_client', ...BEARER_REJECTIONS, 'forbidden', 'idp_unavailable'];
const MEMBER_WRITE_ERRORS: readonly ErrorCode[] = [...PERSONAL, ...BODY_ERRORS, 'authz_unavailable', ...VERIFYING];
const PERSON_DESCRIPTION =
  "The acting person is whoever the bearer token (`Authorization: Bearer <access token>`) proves, never a body field. A key (`x-fedgate-key`) may be sent along; it must act for the service concerned (403 otherwise).";

const AUTHZ_OPERATIONS: readonly OpenApiOperation[] = [
  {
    operationId: 'authorize',
    method: 'post',
    path: API_PATHS.authz.authorize,
    summary: "A person's token and a question in one call: the SuperLink's call per CLI request (key role `superlink`).",
    description:
      'The token is verified as `/v1/verify` does (same rules, cache, revocations), the question asked for the person it proves, and exactly one audit event records both. A refused token answers 401 `{allowed:false, error}` with its one `token.rejected` event.',
    tag: 'decisions',
    security: 'apiKey',
    requestBody: { mediaType: MEDIA_JSON, schema: named('AuthorizeRequest', AuthorizeRequestSchema) },
    responses: [json(200, 'The decision, the verified account, the audit id.', named('AuthorizeResponse', AuthorizeResponseSchema))],
    errors: [...SCOPED, ...BODY_ERRORS, ...BEARER_REJECTIONS, 'idp_unavailable', 'authz_unavailable', ...VERIFYING],
    errorStatus: { expired_token: 401 },
    errorBodies: { 401: named('AuthorizeRejected', AuthorizeRejectedSchema) },
  },
  {
    operationId: 'check',
    method: 'post',
    path: API_PATHS.authz.check,
    summary: 'Decide whether an account has a relation to an object.',
    description: 'Fails closed: when OpenFGA cannot answer, 503 `authz_unavailable`, never an allow.',
    tag: 'decisions',
    security: 'apiKey',
    requestBody: { mediaType: MEDIA_JSON, schema: named('CheckRequest', CheckRequestSchema) },
    responses: [json(200, 'The decision, with its audit id.', named('CheckResponse', CheckResponseSchema))],
    errors: [...SCOPED, ...BODY_ERRORS, 'authz_unavailable', ...STORED],
  },
  {
    operationId: 'batchCheck',
    method: 'post',
    path: API_PATHS.authz.batchCheck,
    summary: 'Several checks at once; results in request order.',
    tag: 'decisions',
    security: 'apiKey',
    requestBody: { mediaType: MEDIA_JSON, schema: named('BatchCheckRequest', BatchCheckRequestSchema) },
    responses: [json(200, 'One decision per check, in order.', named('BatchCheckResponse', BatchCheckResponseSchema))],
    errors: [...SCOPED, ...BODY_ERRORS, 'authz_unavailable', ...STORED],
  },
  {
    operationId: 'registerRun',
    method: 'post',
    path: API_PATHS.authz.runs,
    summary: 'Register a run to the person whose access token is sent (runs are private by default).',
    description: 'Key role `superlink`, for the run\'s service. Run ids are unique per service.',
    tag: 'runs',
    security: 'apiKey',
    requestBody: { mediaType: MEDIA_JSON, schema: named('RegisterRunRequest', RegisterRunRequestSchema) },
    responses: [
      json(201, 'The run is registered.', named('RegisterRunResponse', RegisterRunResponseSchema)),
      json(200, 'The same owner registered the run again (idempotent).', named('RegisterRunResponse', RegisterRunResponseSchema)),
    ],
    errors: [...SCOPED, ...BODY_ERRORS, ...BEARER_REJECTIONS, 'idp_unavailable', 'run_exists', 'dependency_unavailable', ...VERIFYING],
    errorStatus: { expired_token: 401 },
  },
  {
    operationId: 'listRuns',
    method: 'get',
    path: API_PATHS.authz.runs,
    summary: 'The runs the person whose bearer token is sent may view (in the key\'s services, when a key is sent).',
    description: PERSON_DESCRIPTION,
    tag: 'runs',
    security: 'person',
    query: ListRunsQuerySchema,
    responses: [json(200, 'The runs, each with the role that lets the person see it, its service and federation.', named('ListRunsResponse', ListRunsResponseSchema))],
    errors: [...PERSONAL, 'invalid_request', 'authz_unavailable', ...VERIFYING],
    errorStatus: { expired_token: 401 },
  },
  {
    operationId: 'putRunMember',
    method: 'put',
    path: API_PATHS.authz.runMember,
    summary: 'Share a run with an account as viewer or operator (its owner or a service admin acts, with their own token).',
    tag: 'runs',
    security: 'person',
    description: PERSON_DESCRIPTION,
    pathParams: RunMemberParamsSchema,
    requestBody: { mediaType: MEDIA_JSON, schema: named('PutRunMemberRequest', PutRunMemberRequestSchema) },
    responses: [json(200, 'The share is written.', WriteResponse)],
    errors: [...MEMBER_WRITE_ERRORS, 'not_found'],
    errorStatus: { expired_token: 401 },
  },
  {
    operationId: 'deleteRunMember',
    method: 'delete',
    path: API_PATHS.authz.runMember,
    summary: "Remove an account's access to a run (the owner acts).",
    tag: 'runs',
    security: 'person',
    description: PERSON_DESCRIPTION,
    pathParams: RunMemberParamsSchema,
    requestBody: { mediaType: MEDIA_JSON, schema: named('DeleteRunMemberRequest', DeleteRunMemberRequestSchema) },
    responses: [json(200, 'The share is removed.', WriteResponse)],
    errors: [...MEMBER_WRITE_ERRORS, 'not_found'],
    errorStatus: { expired_token: 401 },
  },
  {
    operationId: 'listRunMembers',
    method: 'get',
    path: API_PATHS.authz.runMembers,
    summary: "The run's owner and everyone it is shared with (for its owner and its service's admins).",
    description: PERSON_DESCRIPTION,
    tag: 'runs',
    security: 'person',
    pathParams: RunParamsSchema,
    query: RunMembersQuerySchema,
    responses: [json(200, 'Who holds which role on the run.', named('RunMembersResponse', RunMembersResponseSchema))],
    errors: [...PERSONAL, 'invalid_request', 'not_found', 'authz_unavailable', ...VERIFYING],
    errorStatus: { expired_token: 401 },
  },
  {
    operationId: 'putServiceMember',
    method: 'put',
    path: API_PATHS.authz.serviceMember,
    summary: 'Grant an account access to a SuperLink service (`member` = has_access) or make it admin (a service admin acts, or an `authz-admin` key of the service).',
    tag: 'services',
    security: 'person',
    description: PERSON_DESCRIPTION,
    pathParams: ServiceMemberParamsSchema,
    requestBody: { mediaType: MEDIA_JSON, schema: named('PutServiceMemberRequest', PutServiceMemberRequestSchema) },
    responses: [json(200, 'The grant is written.', WriteResponse)],
    errors: [...MEMBER_WRITE_ERRORS, 'last_admin'],
    errorStatus: { expired_token: 401 },
  },
  {
    operationId: 'deleteServiceMember',
    method: 'delete',
    path: API_PATHS.authz.serviceMember,
    summary: "Remove an account's access to a SuperLink service.",
    tag: 'services',
    security: 'person',
    description: PERSON_DESCRIPTION,
    pathParams: ServiceMemberParamsSchema,
    requestBody: { mediaType: MEDIA_JSON, schema: named('DeleteServiceMemberRequest', DeleteServiceMemberRequestSchema) },
    responses: [json(200, 'The grant is removed.', WriteResponse)],
    errors: [...MEMBER_WRITE_ERRORS, 'last_admin'],
    errorStatus: { expired_token: 401 },
  },
  {
    operationId: 'listServiceMembers',
    method: 'get',
    path: API_PATHS.authz.serviceMembers,
    summary: "Who holds which role on a SuperLink service (for its admins, or an `authz-admin` key of the service).",
    description: PERSON_DESCRIPTION,
    tag: 'services',
    security: 'person',
    pathParams: ServiceParamsSchema,
    query: ServiceMembersQuerySchema,
    responses: [json(200, 'The members and their roles.', named('ServiceMembersResponse', ServiceMembersResponseSchema))],
    errors: [...PERSONAL, 'invalid_request', 'authz_unavailable', ...VERIFYING],
    errorStatus: { expired_token: 401 },
  },
  {
    operationId: 'openFgaCheck',
    method: 'post',
    path: API_PATHS.authz.openfgaCheck,
    summary: "OpenFGA's Check API (for SuperLinks configured with an OpenFGA authz_url); audited like /v1/check.",
    tag: 'openfga',
    description: 'The API key goes in `x-fedgate-key` or, as OpenFGA clients send a preshared key, in `Authorization: Bearer <key>`. Only Fedgate\'s store id is served (404 otherwise); the user must be `flwr_aid:<id>`; contextual tuples are refused; the decision always uses the pinned model. The decision id is in the `x-fedgate-decision-id` header.',
    security: 'apiKey',
    pathParams: OpenFgaCheckParamsSchema,
    requestBody: { mediaType: MEDIA_JSON, schema: named('OpenFgaCheckRequest', OpenFgaCheckRequestSchema) },
    responses: [json(200, 'OpenFGA Check response.', named('OpenFgaCheckResponse', OpenFgaCheckResponseSchema))],
    errors: [...SCOPED, ...BODY_ERRORS, 'authz_unavailable', ...STORED],
  },
  {
    operationId: 'rebuildProjections',
    method: 'post',
    path: API_PATHS.authz.rebuild,
    summary: 'Wipe the OpenFGA tuples and the read model, replay the ownership topic from its beginning (`fedgate authz rebuild`).',
    tag: 'admin',
    security: 'apiKey',
    responses: [json(200, 'The projections are rebuilt and serving.', named('RebuildResponse', RebuildResponseSchema))],
    errors: [...SCOPED, 'authz_unavailable', 'dependency_unavailable', ...STORED],
  },
];

// Reading the audit log needs a key allowed to (API.md: the dev key "including reading the audit log").
const AUDIT_READ_ERRORS: readonly ErrorCode[] = [...KEYED, 'forbidden', 'dependency_unavailable', ...STORED];

const AUDIT_OPERATIONS: readonly OpenApiOperation[] = [
  {
    operationId: 'listAuditEvents',
    method: 'get',
    path: API_PATHS.audit.events,
    summary: 'Audit events, newest first, filtered and paged.',
    tag: 'audit',
    security: 'apiKey',
    query: AuditEventQuerySchema,
    responses: [json(200, 'A page of events; pass `next_cursor` as `cursor` for the next.', named('AuditEventListResponse', AuditEventListResponseSchema))],
    errors: ['invalid_request', 'invalid_cursor', ...AUDIT_READ_ERRORS],
  },
  {
    operationId: 'exportAuditEvents',
    method: 'get',
    path: API_PATHS.audit.export,
    summary: 'Every matching event as streamed NDJSON (one AuditEvent per line).',
    tag: 'audit',
    security: 'apiKey',
    query: AuditExportQuerySchema,
    responses: [{ status: 200, description: 'NDJSON: each line is one AuditEvent.', mediaType: 'application/x-ndjson', schema: named('AuditEvent', AuditEventSchema) }],
    errors: ['invalid_request', ...AUDIT_READ_ERRORS],
  },
  {
    operationId: 'getAuditEvent',
    method: 'get',
    path: API_PATHS.audit.event,
    summary: 'One audit event by id.',
    tag: 'audit',
    security: 'apiKey',
    pathParams: AuditEventParamsSchema,
    responses: [json(200, 'The event.', named('AuditEvent', AuditEventSchema))],
    errors: ['invalid_request', 'not_found', ...AUDIT_READ_ERRORS],
  },
  {
    operationId: 'auditCheckpoints',
    method: 'get',
    path: API_PATHS.audit.checkpoints,
    summary: 'The signed checkpoints and the public key that verifies them (for outside verifiers).',
    tag: 'audit',
    security: 'apiKey',
    responses: [json(200, 'Checkpoints, oldest first.', named('AuditCheckpointListResponse', AuditCheckpointListResponseSchema))],
    errors: AUDIT_READ_ERRORS,
  },
  {
    operationId: 'auditIntegrity',
    method: 'get',
    path: API_PATHS.audit.integrity,
    summary: "The log's hash chain verdict: the latest full re-verification plus the rows appended since (`full=true`: a fresh full run).",
    query: IntegrityQuerySchema,
    tag: 'audit',
    security: 'apiKey',
    responses: [json(200, 'Whether the chain is intact, and where it breaks.', named('IntegrityResponse', IntegrityResponseSchema))],
    errors: AUDIT_READ_ERRORS,
  },
  {
    operationId: 'auditViewer',
    method: 'get',
    path: API_PATHS.audit.viewer,
    summary: 'The audit viewer page.',
    // the page itself is public; its data calls carry the key like any /v1 call
    tag: 'audit',
    security: 'none',
    responses: [{ status: 200, description: 'An HTML page.', mediaType: 'text/html', schema: textBody }],
    errors: [],
  },
];

/** Every operation of API.md, per service (without OPENAPI_COMMON_OPERATIONS). */
export const OPENAPI_OPERATIONS: Readonly<Record<OpenApiService, readonly OpenApiOperation[]>> = {
  login: LOGIN_OPERATIONS,
  token: TOKEN_OPERATIONS,
  authz: AUTHZ_OPERATIONS,
  audit: AUDIT_OPERATIONS,
};

/** The operations a service's document describes: its own, then the common ones. */
export function openApiOperationsOf(service: OpenApiService): readonly OpenApiOperation[] {
  return [...OPENAPI_OPERATIONS[service], ...OPENAPI_COMMON_OPERATIONS];
}

// ---------------------------------------------------------------------------------------------
// Rendering

export type OpenApiJsonValue = null | boolean | number | string | OpenApiJsonValue[] | { [key: string]: OpenApiJsonValue };
export type OpenApiJsonObject = { [key: string]: OpenApiJsonValue };

export interface OpenApiInfo {
  title?: string;
  version?: string;
  description?: string;
}

/** The document as plain JSON (what /openapi.json serves). */
export type OpenApiDocument = OpenApiJsonObject & { openapi: '3.1.0' };

export const OPENAPI_SECURITY_SCHEMES = {
  fedgateKey: { type: 'apiKey', in: 'header', name: API_KEY_HEADER, description: "The calling client's key (SuperLink, admin CLI)." },
  bearerToken: { type: 'http', scheme: 'bearer', description: "A user's access token, as issued by the device login." },
} as const;

const SECURITY_REQUIREMENT: Record<OpenApiSecurity, OpenApiJsonValue> = {
  apiKey: [{ fedgateKey: [] }],
  bearer: [{ bearerToken: [] }],
  person: [{ bearerToken: [] }, { bearerToken: [], fedgateKey: [] }, { fedgateKey: [] }],
  none: [],
};

const SERVICE_DESCRIPTIONS: Record<OpenApiService, string> = {
  login: 'OIDC device flow for `flwr login`, refresh and logout.',
  token: "Verifies the CLI's access tokens.",
  authz: 'OpenFGA decisions and run ownership.',
  audit: 'Audit log store and query.',
};

const COMPONENT_REF = '#/components/schemas/';
const PLACEHOLDER = /\{([a-z_]+)\}/g;

/** JSON Schema (draft 2020-12) of a zod schema; `input` for what callers send, `output` for answers. */
function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): OpenApiJsonObject {
  const generated = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' });
  // the round trip drops undefined and proves the value is plain JSON
  const plain = JSON.parse(JSON.stringify(generated)) as OpenApiJsonObject;
  // the document fixes the dialect; a per-schema $schema is noise
  delete plain['$schema'];
  return plain;
}

/** Rewrites `#/$defs/x` (relative to a schema that is now a component) to a component of its own. */
function rewriteDefRefs(value: OpenApiJsonValue, prefix: string): OpenApiJsonValue {
  if (Array.isArray(value)) return value.map((item) => rewriteDefRefs(item, prefix));
  if (value === null || typeof value !== 'object') return value;
  const out: OpenApiJsonObject = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] = key === '$ref' && typeof item === 'string' && item.startsWith('#/$defs/') ? `${COMPONENT_REF}${prefix}_${item.slice('#/$defs/'.length)}` : rewriteDefRefs(item, prefix);
  }
  return out;
}

class ComponentSchemas {
  private readonly schemas = new Map<string, OpenApiJsonObject>();
  private readonly serialised = new Map<string, string>();

  /** Adds the schema (once) and answers a `$ref` to it. */
  ref(entry: OpenApiNamedSchema, io: 'input' | 'output'): OpenApiJsonObject {
    let schema = jsonSchemaOf(entry.schema, io);
    // $defs (recursive or extracted sub-schemas) would resolve against the document root: hoist them
    const defs = schema['$defs'];
    if (defs !== undefined && defs !== null && typeof defs === 'object' && !Array.isArray(defs)) {
      delete schema['$defs'];
      for (const [defName, def] of Object.entries(defs)) this.put(`${entry.name}_${defName}`, rewriteDefRefs(def, entry.name) as OpenApiJsonObject);
      schema = rewriteDefRefs(schema, entry.name) as OpenApiJsonObject;
    }
    this.put(entry.name, schema);
    return { $ref: `${COMPONENT_REF}${entry.name}` };
  }

  private put(name: string, schema: OpenApiJsonObject): void {
    const text = JSON.stringify(schema);
    const existing = this.serialised.get(name);
    // one name, one shape: a clash means the catalogue reuses a name for another schema (or io)
    if (existing !== undefined && existing !== text) throw new Error(`openApiDocument: component '${name}' has two different shapes`);
    this.serialised.set(name, text);
    this.schemas.set(name, schema);
  }

  /** Sorted by name, so the document is byte-for-byte deterministic. */
  toJson(): OpenApiJsonObject {
    const out: OpenApiJsonObject = {};
    for (const name of [...this.schemas.keys()].sort()) out[name] = this.schemas.get(name)!;
    return out;
  }
}

/** Turns an object schema's properties into OpenAPI parameters (`in: path` or `in: query`). */
function parametersOf(schema: z.ZodType | undefined, location: 'path' | 'query', names?: readonly string[]): OpenApiJsonObject[] {
  const json = schema === undefined ? {} : jsonSchemaOf(schema, 'input');
  const properties = (json['properties'] ?? {}) as Record<string, OpenApiJsonObject>;
  const required = new Set((json['required'] ?? []) as string[]);
  const keys = names ?? Object.keys(properties);
  return keys.map((name) => {
    const { description, ...propertySchema } = properties[name] ?? { type: 'string' };
    const parameter: OpenApiJsonObject = { name, in: location, required: location === 'path' || required.has(name), schema: propertySchema };
    if (typeof description === 'string') parameter['description'] = description;
    return parameter;
  });
}

function errorResponses(op: OpenApiOperation, components: ComponentSchemas): OpenApiJsonObject {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of op.errors) {
    const status = op.errorStatus?.[code] ?? ERROR_CATALOGUE[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses: OpenApiJsonObject = {};
  for (const [status, codes] of [...byStatus.entries()].sort(([a], [b]) => a - b)) {
    const errorRef = components.ref(ErrorBody, 'output');
    const richer = op.errorBodies?.[status];
    const schema = richer === undefined ? errorRef : { anyOf: [errorRef, components.ref(richer, 'output')] };
    const examples: OpenApiJsonObject = {};
    for (const code of codes) examples[code] = { summary: code, value: { error: code, error_description: ERROR_CATALOGUE[code].summary } };
    responses[String(status)] = {
      description: codes.map((code) => `\`${code}\`: ${ERROR_CATALOGUE[code].summary}`).join(' '),
      'x-fedgate-error-codes': codes,
      content: { [MEDIA_JSON]: { schema, examples } },
    };
  }
  return responses;
}

function operationObject(op: OpenApiOperation, components: ComponentSchemas): OpenApiJsonObject {
  const operation: OpenApiJsonObject = { operationId: op.operationId, summary: op.summary };
  if (op.description !== undefined) operation['description'] = op.description;
  operation['tags'] = [op.tag];
  const placeholders = [...op.path.matchAll(PLACEHOLDER)].map((match) => match[1]!);
  const parameters = [...parametersOf(op.pathParams, 'path', placeholders), ...(op.query ? parametersOf(op.query, 'query') : [])];
  if (parameters.length > 0) operation['parameters'] = parameters;
  if (op.requestBody) {
    const body: OpenApiJsonObject = { required: true, content: { [op.requestBody.mediaType]: { schema: components.ref(op.requestBody.schema, 'input') } } };
    if (op.requestBody.description !== undefined) body['description'] = op.requestBody.description;
    operation['requestBody'] = body;
  }
  const responses: OpenApiJsonObject = {};
  for (const response of op.responses) {
    const rendered: OpenApiJsonObject = { description: response.description };
    if (response.schema !== undefined) {
      const schema = 'inline' in response.schema ? (JSON.parse(JSON.stringify(response.schema.inline)) as OpenApiJsonObject) : components.ref(response.schema, 'output');
      rendered['content'] = { [response.mediaType ?? MEDIA_JSON]: { schema } };
    }
    responses[String(response.status)] = rendered;
  }
  Object.assign(responses, errorResponses(op, components));
  operation['responses'] = responses;
  operation['security'] = SECURITY_REQUIREMENT[op.security];
  return operation;
}

/**
 * The OpenAPI 3.1 document of one service: its API.md operations plus the ops
 * endpoints, every body schema a component generated from contracts. Pure and
 * deterministic: the same input gives the same JSON.
 */
export function openApiDocument(service: OpenApiService, info: OpenApiInfo = {}): OpenApiDocument {
  const components = new ComponentSchemas();
  const paths: Record<string, OpenApiJsonObject> = {};
  const tags: string[] = [];
  for (const op of openApiOperationsOf(service)) {
    const item = (paths[op.path] ??= {});
    if (item[op.method] !== undefined) throw new Error(`openApiDocument: ${op.method.toUpperCase()} ${op.path} is listed twice`);
    item[op.method] = operationObject(op, components);
    if (!tags.includes(op.tag)) tags.push(op.tag);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: info.title ?? `Fedgate ${service}-service`,
      version: info.version ?? '1.0.0',
      description: info.description ?? `${SERVICE_DESCRIPTIONS[service]} Errors answer \`{"error": "<stable_code>", "error_description": "..."}\`.`,
    },
    tags: tags.map((name) => ({ name })),
    paths,
    components: { schemas: components.toJson(), securitySchemes: JSON.parse(JSON.stringify(OPENAPI_SECURITY_SCHEMES)) as OpenApiJsonObject },
  };
}
