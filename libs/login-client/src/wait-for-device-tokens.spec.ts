import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FedgateError, OAuthError, type TokenSetResponse } from '@fedgate/contracts';
import { LoginClientError } from './errors';
import { waitForDeviceTokens, type WaitTick } from './wait-for-device-tokens';

const TOKENS: TokenSetResponse = {
  access_token: 'access',
  refresh_token: 'refresh',
  token_type: 'Bearer',
  expires_in: 300,
  account: { flwr_aid: 'alice-sub', account_name: 'alice' },
};

/** Time that moves only when the code under test sleeps. */
class FakeClock {
  t = 0;
  readonly sleeps: number[] = [];
  now = (): number => this.t;
  sleep = async (ms: number, signal?: AbortSignal): Promise<void> => {
    if (signal?.aborted) throw signal.reason;
    this.sleeps.push(ms);
    this.t += ms;
  };
}

type Step = TokenSetResponse | Error;

/** A poller that answers the scripted steps in order (the last one repeats), recording when it was asked. */
function scriptedClient(clock: FakeClock, steps: Step[]) {
  const polls: number[] = [];
  const codes: string[] = [];
  return {
    polls,
    codes,
    client: {
      async pollDeviceToken(deviceCode: string): Promise<TokenSetResponse> {
        assert.equal(deviceCode, 'the-device-code');
        polls.push(clock.t);
        const step = steps[Math.min(polls.length - 1, steps.length - 1)];
        if (step instanceof Error) throw step;
        return step;
      },
    },
  };
}

const pending = () => new OAuthError('authorization_pending');
const slowDown = () => new OAuthError('slow_down');

async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (err) {
    return err as Error & { code?: string };
  }
  assert.fail('expected a rejection');
}

describe('waitForDeviceTokens (RFC 8628 polling)', () => {
  it('waits `interval` before each poll; slow_down adds 5 s to every later interval; resolves with the tokens', async () => {
    const clock = new FakeClock();
    const { client, polls } = scriptedClient(clock, [pending(), slowDown(), pending(), TOKENS]);
    const ticks: WaitTick[] = [];
    const tokens = await waitForDeviceTokens({
      client, deviceCode: 'the-device-code', interval: 5, expiresIn: 600,
      onTick: (tick) => ticks.push(tick), sleep: clock.sleep, now: clock.now,
    });
    assert.deepEqual(tokens, TOKENS);
    assert.deepEqual(polls, [5_000, 10_000, 20_000, 30_000]);
    assert.ok(clock.sleeps.every((ms) => ms <= 1_000), 'sleeps in ticks of at most a second');
    assert.deepEqual(ticks.slice(0, 3), [
      { secondsLeft: 600, interval: 5, polls: 0 },
      { secondsLeft: 599, interval: 5, polls: 0 },
      { secondsLeft: 598, interval: 5, polls: 0 },
    ]);
    assert.deepEqual(ticks.at(-1), { secondsLeft: 571, interval: 10, polls: 3 });
    assert.equal(ticks.length, 30, 'one tick per second of waiting');
  });

  it('two slow_downs: 5 → 10 → 15 s', async () => {
    const clock = new FakeClock();
    const { client, polls } = scriptedClient(clock, [slowDown(), slowDown(), TOKENS]);
    await waitForDeviceTokens({ client, deviceCode: 'the-device-code', interval: 5, expiresIn: 600, sleep: clock.sleep, now: clock.now });
    assert.deepEqual(polls, [5_000, 15_000, 30_000]);
  });

  it('stops with expired_token at the local deadline (no poll after it)', async () => {
    const clock = new FakeClock();
    const { client, polls } = scriptedClient(clock, [pending()]);
    const error = await rejection(waitForDeviceTokens({ client, deviceCode: 'the-device-code', interval: 5, expiresIn: 12, sleep: clock.sleep, now: clock.now }));
    assert.ok(error instanceof FedgateError);
    assert.equal(error.code, 'expired_token');
    assert.deepEqual(polls, [5_000, 10_000]);
    assert.equal(clock.t, 12_000, 'gives up exactly at the deadline');
  });

  it("stops with the service's expired_token", async () => {
    const clock = new FakeClock();
    const { client, polls } = scriptedClient(clock, [pending(), new OAuthError('expired_token', 'device code expired')]);
    const error = await rejection(waitForDeviceTokens({ client, deviceCode: 'the-device-code', interval: 5, expiresIn: 600, sleep: clock.sleep, now: clock.now }));
    assert.equal(error.code, 'expired_token');
    assert.equal(error.message, 'device code expired');
    assert.equal(polls.length, 2);
  });

  it('stops with access_denied when the user denies', async () => {
    const clock = new FakeClock();
    const { client, polls } = scriptedClient(clock, [pending(), new OAuthError('access_denied')]);
    const error = await rejection(waitForDeviceTokens({ client, deviceCode: 'the-device-code', interval: 5, expiresIn: 600, sleep: clock.sleep, now: clock.now }));
    assert.equal(error.code, 'access_denied');
    assert.deepEqual(polls, [5_000, 10_000]);
  });

  it('stops on any other error, unchanged', async () => {
    for (const failure of [
      new OAuthError('invalid_grant'),
      new FedgateError('invalid_client'),
      new LoginClientError('login_service_unreachable', 'down'),
      new FedgateError('idp_unavailable', 'idp down'),
    ]) {
      const clock = new FakeClock();
      const { client, polls } = scriptedClient(clock, [failure]);
      const error = await rejection(waitForDeviceTokens({ client, deviceCode: 'the-device-code', interval: 5, expiresIn: 600, sleep: clock.sleep, now: clock.now }));
      assert.equal(error, failure);
      assert.equal(polls.length, 1);
    }
  });

  it('an aborted signal stops the wait with login_aborted', async () => {
    const clock = new FakeClock();
    const abort = new AbortController();
    const { client, polls } = scriptedClient(clock, [pending()]);
    const error = await rejection(
      waitForDeviceTokens({
        client, deviceCode: 'the-device-code', interval: 5, expiresIn: 600, signal: abort.signal,
        onTick: (tick) => { if (tick.polls === 2) abort.abort(); },
        sleep: clock.sleep, now: clock.now,
      }),
    );
    assert.equal(error.code, 'login_aborted');
    assert.equal(polls.length, 2);
  });

  it('refuses non-positive timings', async () => {
    const clock = new FakeClock();
    const { client } = scriptedClient(clock, [TOKENS]);
    await assert.rejects(waitForDeviceTokens({ client, deviceCode: 'the-device-code', interval: 0, expiresIn: 600 }), RangeError);
    await assert.rejects(waitForDeviceTokens({ client, deviceCode: 'the-device-code', interval: 5, expiresIn: -1 }), RangeError);
  });

  it('works with the real clock and timers', async () => {
    const realClock = { t: 0 } as FakeClock;
    const { client, polls } = scriptedClient(realClock, [pending(), TOKENS]);
    const started = Date.now();
    assert.deepEqual(await waitForDeviceTokens({ client, deviceCode: 'the-device-code', interval: 0.02, expiresIn: 5, tickMs: 5 }), TOKENS);
    assert.equal(polls.length, 2);
    assert.ok(Date.now() - started >= 35, 'really waited between polls');
  });
});
