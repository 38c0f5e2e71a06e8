import { RateLimiterMemory } from 'rate-limiter-flexible';

/** oidc-provider's device verification page (routes.code_verification), where user codes are entered. */
export const DEVICE_VERIFICATION_PATH = '/device';

/**
 * RFC 8628 §5.1: a user code is short enough to guess, so wrong codes entered at the
 * verification page are counted per source address (rate-limiter-flexible, in memory): past
 * `attempts` wrong ones within `windowSeconds`, that address is refused until the window ends.
 */
export class UserCodeGuessLimit {
  private readonly limiter: RateLimiterMemory;

  constructor(private readonly limit: { attempts: number; windowSeconds: number }) {
    if (!(Number.isInteger(limit.attempts) && limit.attempts > 0 && limit.windowSeconds > 0)) throw new TypeError('userCodeGuessLimit needs positive attempts and windowSeconds');
    this.limiter = new RateLimiterMemory({ points: limit.attempts, duration: limit.windowSeconds });
  }

  /** Seconds until `address` may try again, or undefined when it may try now. */
  async refusedFor(address: string | undefined): Promise<number | undefined> {
    const state = await this.limiter.get(address ?? 'unknown');
    return state !== null && state.consumedPoints >= this.limit.attempts ? Math.max(1, Math.ceil(state.msBeforeNext / 1000)) : undefined;
  }

  /** One wrong user code from `address`. */
  async recordWrong(address: string | undefined): Promise<void> {
    // consume rejects once the points are spent: the address is refused already, nothing to add
    await this.limiter.consume(address ?? 'unknown').catch(() => undefined);
  }
}
