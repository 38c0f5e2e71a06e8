// Helpers for the authz-service integration tests: REST calls with the stack's keys and the dev
// users' own tokens, fresh ids.
import type { StackFile } from '@fedgate/contracts';
import { accessTokenOf, fetchRetryingClosedSocket, stackAdmin, waitFor } from '@fedgate/testing';

export interface Answer {
  status: number;
  body: Record<string, any>;
}

/**
 * Who calls: `key` (default: the stack's SuperLink key; null: none) and `as`, a dev IdP user
 * whose own access token goes as `Authorization: Bearer`.
 */
export interface Credentials {
  key?: string | null;
  as?: string;
}

/** One call to authz-service (JSON body when given) with the given credentials. */
export async function authzCall(stack: StackFile, method: string, path: string, body?: unknown, headers: Record<string, string> = {}, credentials: Credentials = {}): Promise<Answer> {
  const key = credentials.key === undefined ? stack.api_key : credentials.key;
  const sent: Record<string, string> = {};
  if (key !== null) sent['x-fedgate-key'] = key;
  if (credentials.as !== undefined) sent['authorization'] = `Bearer ${await accessTokenOf(stack, credentials.as)}`;
  if (body !== undefined) sent['content-type'] = 'application/json';
  const init = {
    method,
    headers: { ...sent, ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  };
  const res = await fetchRetryingClosedSocket(`${stack.services.authz}${path}`, init);
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, any>) : {} };
}

let counter = 0;
/** A run id no other test run uses: milliseconds, pid, counter (20 digits, below 2^64). */
export function freshRunId(): string {
  counter = (counter + 1) % 1000;
  return `${Date.now()}${String(process.pid % 10_000).padStart(4, '0')}${String(counter).padStart(3, '0')}`;
}

/**
 * Typed helpers over authzCall. A person acting is a dev IdP user (`alice`, `bob`, `carol`):
 * their own token is sent, as `fedgate authz` does. Membership calls go with the token alone
 * unless `key` is given.
 */
export function authzApi(stack: StackFile) {
  const check = (flwr_aid: string, relation: string, object: string, consistency_token?: string, key?: string) =>
    authzCall(stack, 'POST', '/v1/check', { flwr_aid, relation, object, consistency_token }, {}, { key });
  const ct = (token?: string) => (token ? `?consistency_token=${encodeURIComponent(token)}` : '');
  const person = (who: string | Credentials): Credentials => (typeof who === 'string' ? { key: null, as: who } : { key: null, ...who });
  return {
    check,
    allowed: async (flwr_aid: string, relation: string, object: string, consistency_token?: string) => {
      const res = await check(flwr_aid, relation, object, consistency_token);
      if (res.status !== 200) throw new Error(`check answered ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.allowed as boolean;
    },
    authorize: async (username: string, relation: string, object: string, key?: string) =>
      authzCall(stack, 'POST', '/v1/authorize', { access_token: await accessTokenOf(stack, username), relation, object }, {}, { key }),
    register: async (run_id: string, owner: string, options: { key?: string; federation?: string } = {}) =>
      authzCall(stack, 'POST', '/v1/runs', { run_id, access_token: await accessTokenOf(stack, owner), federation: options.federation }, {}, { key: options.key }),
    list: (who: string | Credentials, consistency_token?: string) => authzCall(stack, 'GET', `/v1/runs${ct(consistency_token)}`, undefined, {}, person(who)),
    share: (run: string, flwr_aid: string, role: string, who: string | Credentials) => authzCall(stack, 'PUT', `/v1/runs/${run}/members/${flwr_aid}`, { role }, {}, person(who)),
    unshare: (run: string, flwr_aid: string, who: string | Credentials) => authzCall(stack, 'DELETE', `/v1/runs/${run}/members/${flwr_aid}`, undefined, {}, person(who)),
    runMembers: (run: string, who: string | Credentials, consistency_token?: string) => authzCall(stack, 'GET', `/v1/runs/${run}/members${ct(consistency_token)}`, undefined, {}, person(who)),
    grant: (service: string, flwr_aid: string, role: string, who: string | Credentials) => authzCall(stack, 'PUT', `/v1/services/${service}/members/${flwr_aid}`, { role }, {}, person(who)),
    revoke: (service: string, flwr_aid: string, who: string | Credentials) => authzCall(stack, 'DELETE', `/v1/services/${service}/members/${flwr_aid}`, undefined, {}, person(who)),
    serviceMembers: (service: string, who: string | Credentials) => authzCall(stack, 'GET', `/v1/services/${service}/members`, undefined, {}, person(who)),
  };
}

/**
 * Waits until a write is projected again (e.g. after Kafka restarted, the projector's consumer
 * group takes a while to rejoin): a registration, then a check with its token until it answers.
 */
export async function projectorWorks(stack: StackFile, timeoutMs = 180_000): Promise<void> {
  const api = authzApi(stack);
  const registered = await api.register(freshRunId(), stackAdmin(stack));
  if (registered.status !== 201) throw new Error(`register answered ${registered.status} ${JSON.stringify(registered.body)}`);
  await waitFor(
    'the projector to apply a new write',
    async () => (await api.check(stackAdmin(stack), 'has_access', `service:${stack.service_name}`, registered.body.consistency_token)).status === 200,
    timeoutMs,
    500,
  );
}
