import { setTimeout as delay } from 'node:timers/promises';
import { OAuthError, type TokenSetResponse } from '@fedgate/contracts';
import { LoginClientError, loginErrorCode } from './errors';
import type { LoginServiceClient, RequestOptions } from './login-service-client';

/** RFC 8628 §3.5: on `slow_down` the interval grows by 5 seconds for all later polls. */
export const SLOW_DOWN_INCREMENT_SECONDS = 5;

export interface WaitTick {
  /** Whole seconds until the device code expires (local clock). */
  secondsLeft: number;
  /** The current polling interval in seconds (grows on `slow_down`). */
  interval: number;
  /** Polls sent so far. */
  polls: number;
}

export interface WaitForDeviceTokensOptions {
  client: Pick<LoginServiceClient, 'pollDeviceToken'>;
  deviceCode: string;
  /** Seconds between polls, from the device authorization (`interval`). */
  interval: number;
  /** Seconds the device code lives, from the device authorization (`expires_in`). */
  expiresIn: number;
  /** Called about every `tickMs` while waiting — e.g. to show the time left. */
  onTick?: (tick: WaitTick) => void;
  /** Stops the wait with `login_aborted`. */
  signal?: AbortSignal;
  /** Waits `ms` (default: a real timer honouring `signal`); inject a fake for tests. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Current time in ms (default `Date.now`); inject together with `sleep`. */
  now?: () => number;
  /** How often `onTick` fires while waiting (default 1000 ms). */
  tickMs?: number;
}

function realSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return delay(ms, undefined, signal ? { signal } : undefined);
}

function aborted(cause?: unknown): LoginClientError {
  return new LoginClientError('login_aborted', 'The login was cancelled.', cause === undefined ? {} : { cause });
}

/**
 * RFC 8628 §3.4-3.5 client behaviour: waits `interval` seconds, polls, and repeats
 * while the answer is `authorization_pending`; `slow_down` adds 5 seconds to the
 * interval. Resolves with the tokens. Rejects with `expired_token` (from the service,
 * or when the local deadline of `expiresIn` passes first), `access_denied`, any other
 * error of the poll as is, or `login_aborted`.
 */
export async function waitForDeviceTokens(options: WaitForDeviceTokensOptions): Promise<TokenSetResponse> {
  const { client, deviceCode, signal, onTick } = options;
  const sleep = options.sleep ?? realSleep;
  const now = options.now ?? Date.now;
  const tickMs = options.tickMs ?? 1000;
  if (!(options.interval > 0) || !(options.expiresIn > 0) || !(tickMs > 0)) {
    throw new RangeError('interval, expiresIn and tickMs must be positive');
  }

  const deadline = now() + options.expiresIn * 1000;
  let interval = options.interval;
  let polls = 0;
  const requestOptions: RequestOptions = signal ? { signal } : {};

  for (;;) {
    const pollAt = now() + interval * 1000;
    for (;;) {
      if (signal?.aborted) throw aborted(signal.reason);
      const t = now();
      if (t >= deadline) {
        throw new OAuthError('expired_token', 'The device code expired before the sign-in was completed.');
      }
      if (t >= pollAt) break;
      onTick?.({ secondsLeft: Math.ceil((deadline - t) / 1000), interval, polls });
      try {
        await sleep(Math.min(tickMs, pollAt - t, deadline - t), signal);
      } catch (err) {
        if (signal?.aborted) throw aborted(err);
        throw err;
      }
    }

    polls += 1;
    try {
      return await client.pollDeviceToken(deviceCode, requestOptions);
    } catch (err) {
      const code = loginErrorCode(err);
      if (code === 'authorization_pending') continue;
      if (code === 'slow_down') {
        interval += SLOW_DOWN_INCREMENT_SECONDS;
        continue;
      }
      throw err;
    }
  }
}
