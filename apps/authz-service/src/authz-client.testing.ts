// Helpers for the authz-service integration tests: REST calls with the stack's key, fresh ids.
import type { StackFile } from '@fedgate/contracts';
import { fetchRetryingClosedSocket, waitFor } from '@fedgate/testing';

export interface Answer {
  status: number;
  body: Record<string, any>;
}

/** One call to authz-service with the stack's API key (JSON body when given). */
export async function authzCall(stack: StackFile, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const init = {
    method,
    headers: { 'x-fedgate-key': stack.api_key, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
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

/** Typed helpers over authzCall. */
export function authzApi(stack: StackFile) {
  const check = (flwr_aid: string, relation: string, object: string, consistency_token?: string) =>
    authzCall(stack, 'POST', '/v1/check', { flwr_aid, relation, object, consistency_token });
  return {
    check,
    allowed: async (flwr_aid: string, relation: string, object: string, consistency_token?: string) => {
      const res = await check(flwr_aid, relation, object, consistency_token);
      if (res.status !== 200) throw new Error(`check answered ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.allowed as boolean;
    },
    register: (run_id: string, flwr_aid: string) => authzCall(stack, 'POST', '/v1/runs', { run_id, flwr_aid }),
    list: (flwr_aid: string, consistency_token?: string) =>
      authzCall(stack, 'GET', `/v1/runs?flwr_aid=${encodeURIComponent(flwr_aid)}${consistency_token ? `&consistency_token=${encodeURIComponent(consistency_token)}` : ''}`),
    share: (run: string, flwr_aid: string, role: string, acting: string) => authzCall(stack, 'PUT', `/v1/runs/${run}/members/${flwr_aid}`, { role, acting_flwr_aid: acting }),
    unshare: (run: string, flwr_aid: string, acting: string) => authzCall(stack, 'DELETE', `/v1/runs/${run}/members/${flwr_aid}`, { acting_flwr_aid: acting }),
    grant: (service: string, flwr_aid: string, role: string, acting: string) => authzCall(stack, 'PUT', `/v1/services/${service}/members/${flwr_aid}`, { role, acting_flwr_aid: acting }),
    revoke: (service: string, flwr_aid: string, acting: string) => authzCall(stack, 'DELETE', `/v1/services/${service}/members/${flwr_aid}`, { acting_flwr_aid: acting }),
  };
}

/**
 * Waits until a write is projected again (e.g. after Kafka restarted, the projector's consumer
 * group takes a while to rejoin): a registration, then a check with its token until it answers.
 */
export async function projectorWorks(stack: StackFile, timeoutMs = 180_000): Promise<void> {
  const owner = `probe-${Date.now().toString(36)}`;
  const registered = await authzCall(stack, 'POST', '/v1/runs', { run_id: freshRunId(), flwr_aid: owner });
  if (registered.status !== 201) throw new Error(`register answered ${registered.status} ${JSON.stringify(registered.body)}`);
  await waitFor(
    'the projector to apply a new write',
    async () => (await authzCall(stack, 'POST', '/v1/check', { flwr_aid: owner, relation: 'has_access', object: `service:${stack.service_name}`, consistency_token: registered.body.consistency_token })).status === 200,
    timeoutMs,
    500,
  );
}
