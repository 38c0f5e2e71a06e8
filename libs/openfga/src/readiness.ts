import { httpReadinessCheck, ReadinessCheck } from '@fedgate/platform';

/** OpenFGA is ready when its /healthz answers SERVING. */
export function openFgaReadinessCheck(url: string): ReadinessCheck {
  return httpReadinessCheck('openfga', `${url.replace(/\/$/, '')}/healthz`);
}
