/** A dependency whose reachability decides `GET /readyz`. */
export interface ReadinessCheck {
  readonly name: string;
  /** Resolves when the dependency answers; rejects (or times out) otherwise. */
  check(): Promise<void>;
}

export const READINESS_CHECKS = Symbol('READINESS_CHECKS');

export type ReadinessReport = { ready: boolean; checks: Record<string, 'up' | 'down'> };

export async function runReadinessChecks(checks: readonly ReadinessCheck[], timeoutMs = 2000): Promise<ReadinessReport> {
  const results = await Promise.all(
    checks.map(async (c) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
      });
      try {
        await Promise.race([c.check(), timeout]);
        return [c.name, 'up'] as const;
      } catch {
        return [c.name, 'down'] as const;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  return { ready: results.every(([, s]) => s === 'up'), checks: Object.fromEntries(results) };
}

/** An HTTP(S) GET that must answer 2xx: for dependencies with a health URL (OpenFGA, the IdP). */
export function httpReadinessCheck(name: string, url: string, headers: Record<string, string> = {}): ReadinessCheck {
  return {
    name,
    async check() {
      const res = await fetch(url, { headers, signal: AbortSignal.timeout(2000) });
      await res.body?.cancel();
      if (!res.ok) throw new Error(`${name} answered ${res.status}`);
    },
  };
}

/** The IdP is reachable when its OIDC discovery document answers. */
export function oidcDiscoveryReadinessCheck(issuer: string): ReadinessCheck {
  return httpReadinessCheck('idp', `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
}
