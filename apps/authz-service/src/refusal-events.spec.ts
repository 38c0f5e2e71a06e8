// A refused key is audited alike wherever it is refused: by the role guards of login- and
// token-service (keyRefusalsTo) or by authz-service (Refusals). Both build the event with
// requestRefusedEvent, so the audit log and its queries see one field set and one set of limits.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FedgateError, REQUEST_REFUSED_MAX_ACTION_CHARS, REQUEST_REFUSED_MAX_REASON_CHARS, parseEvent, type FedgateEvent, type RequestOrigin } from '@fedgate/contracts';
import { Refusals, keyPrincipal, type CallingKey } from '@fedgate/authz';
import { keyRefusalsTo } from '@fedgate/platform';

const key: CallingKey = { client_id: 'superlink-a', roles: ['superlink'], services: ['superlink-a'] };
const origin: RequestOrigin = { client_id: 'superlink-a', source_ip: '127.0.0.1' };
const source = '/fedgate/test';

async function byRoleGuard(action: string, reason: string): Promise<FedgateEvent> {
  const events: FedgateEvent[] = [];
  await keyRefusalsTo(async (e) => void events.push(e), source).record(key, action, reason, origin);
  assert.equal(events.length, 1);
  return events[0]!;
}

async function byAuthz(action: string, reason: string): Promise<FedgateEvent> {
  const events: FedgateEvent[] = [];
  const refusals = new Refusals({ append: async (e: FedgateEvent) => void events.push(e) });
  await assert.rejects(
    () => refusals.refuse({ key, origin }, keyPrincipal(key), { action }, reason),
    (err: unknown) => err instanceof FedgateError && err.code === 'forbidden',
  );
  assert.equal(events.length, 1);
  return events[0]!;
}

describe('fedgate.request.refused.v1 from the role guards and from authz-service', () => {
  it('has the same fields for the same refusal', async () => {
    const [guard, authz] = await Promise.all([byRoleGuard('POST /v1/verify', 'no superlink role'), byAuthz('POST /v1/verify', 'no superlink role')]);
    assert.deepEqual(Object.keys(guard.data), Object.keys(authz.data));
    assert.deepEqual(guard.data, authz.data);
    assert.deepEqual(guard.data, { actor: { kind: 'key', name: 'superlink-a' }, action: 'POST /v1/verify', reason: 'no superlink role', origin });
  });

  it('cuts an over-long action and reason to the same limits, and both events are valid', async () => {
    const action = `run.${'a'.repeat(REQUEST_REFUSED_MAX_ACTION_CHARS)}`;
    const reason = 'r'.repeat(REQUEST_REFUSED_MAX_REASON_CHARS + 1);
    const [guard, authz] = await Promise.all([byRoleGuard(action, reason), byAuthz(action, reason)]);
    assert.deepEqual(guard.data, authz.data);
    for (const event of [guard, authz]) {
      assert.ok(event.type === 'fedgate.request.refused.v1');
      assert.equal(event.data.action.length, REQUEST_REFUSED_MAX_ACTION_CHARS);
      assert.equal(event.data.reason.length, REQUEST_REFUSED_MAX_REASON_CHARS);
      assert.deepEqual(parseEvent(JSON.parse(JSON.stringify(event))), event);
    }
  });
});
