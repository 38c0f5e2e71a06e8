import { trustCertificateAuthorities } from '@fedgate/stack';

/**
 * Makes the global fetch of THIS process trust `caPem` in addition to the public roots —
 * for in-process tests. Processes (apps, CLIs) are started with NODE_EXTRA_CA_CERTS, or
 * trust their IdP's CA by setting (FEDGATE_OIDC_CA_FILE). Answers a function that restores
 * the previous dispatcher.
 */
export function trustCertificateAuthorityForFetch(caPem: string): Promise<() => Promise<void>> {
  return trustCertificateAuthorities([caPem]);
}
