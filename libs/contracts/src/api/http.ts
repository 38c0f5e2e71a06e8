/**
 * HTTP-level names of the v1 REST contract (API.md). Paths are written with
 * `{param}` placeholders exactly as documented; `routePattern` gives the
 * `:param` form routers use, `buildPath` fills them in safely.
 */

/** Header carrying the calling program's service key (API.md "Who is calling"). */
export const API_KEY_HEADER = 'x-fedgate-key';

export const API_PATHS = {
  login: {
    deviceAuthorize: '/v1/device/authorize',
    deviceToken: '/v1/device/token',
    refresh: '/v1/token/refresh',
    logout: '/v1/logout',
    oauthDeviceAuthorization: '/oauth2/device_authorization',
    oauthToken: '/oauth2/token',
  },
  token: {
    verify: '/v1/verify',
    userinfo: '/v1/userinfo',
    introspect: '/v1/introspect',
  },
  authz: {
    authorize: '/v1/authorize',
    check: '/v1/check',
    batchCheck: '/v1/check/batch',
    runs: '/v1/runs',
    runMembers: '/v1/runs/{run_id}/members',
    runMember: '/v1/runs/{run_id}/members/{flwr_aid}',
    serviceMembers: '/v1/services/{service}/members',
    serviceMember: '/v1/services/{service}/members/{flwr_aid}',
    openfgaCheck: '/stores/{store_id}/check',
    rebuild: '/v1/admin/rebuild',
  },
  audit: {
    events: '/v1/events',
    event: '/v1/events/{id}',
    export: '/v1/events/export',
    integrity: '/v1/integrity',
    checkpoints: '/v1/integrity/checkpoints',
    viewer: '/',
  },
  common: {
    health: '/healthz',
    ready: '/readyz',
    metrics: '/metrics',
    openapi: '/openapi.json',
    docs: '/docs',
  },
} as const;

const PLACEHOLDER = /\{([a-z_]+)\}/g;

/** `/v1/runs/{run_id}` → `/v1/runs/:run_id` (NestJS / Fastify route syntax). */
export function routePattern(template: string): string {
  return template.replace(PLACEHOLDER, ':$1');
}

/** Fills `{param}` placeholders, percent-encoding each value; a missing value is a programming error. */
export function buildPath(template: string, params: Readonly<Record<string, string | number>>): string {
  return template.replace(PLACEHOLDER, (_match, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`buildPath: missing parameter '${name}' for ${template}`);
    return encodeURIComponent(String(value));
  });
}
