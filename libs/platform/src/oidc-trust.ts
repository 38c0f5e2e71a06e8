import { readCertificateAuthorityFile, trustCertificateAuthorities } from '@fedgate/stack';

/**
 * A service's trust for its identity provider: FEDGATE_OIDC_CA_FILE beside the public roots
 * and the stack's own CA (NODE_EXTRA_CA_CERTS takes one file only, so a company CA would
 * otherwise have to be merged with the stack's by hand). A missing or non-PEM file stops the start.
 */
export async function trustIdentityProviderCa(config: { FEDGATE_OIDC_CA_FILE?: string }): Promise<void> {
  if (!config.FEDGATE_OIDC_CA_FILE) return;
  await trustCertificateAuthorities([readCertificateAuthorityFile(config.FEDGATE_OIDC_CA_FILE, 'FEDGATE_OIDC_CA_FILE')]);
}
