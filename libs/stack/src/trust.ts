import { existsSync, readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';

// Node's fetch (its bundled undici) keeps its process-wide dispatcher under this registry
// symbol; undici itself uses it so that separately installed copies share one dispatcher.
const globalDispatcherSymbol = Symbol.for('undici.globalDispatcher.1');

interface UndiciAgentLike {
  close(): Promise<void>;
}
type UndiciAgentConstructor = new (options: { connect: { ca: string[] } }) => UndiciAgentLike;

/** A CA file that cannot be used: named with the setting that gave it. */
export class CertificateAuthorityFileError extends Error {
  readonly code = 'invalid_configuration';
}

/** Reads a PEM file of one or more CA certificates; refuses anything else with a clear reason. */
export function readCertificateAuthorityFile(file: string, setting: string): string {
  if (!existsSync(file)) throw new CertificateAuthorityFileError(`${setting}: ${file} does not exist`);
  const pem = readFileSync(file, 'utf8');
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new CertificateAuthorityFileError(`${setting}: ${file} holds no PEM certificate`);
  return pem;
}

/**
 * Makes this process's fetch trust `caPems` beside the public roots and the file of
 * NODE_EXTRA_CA_CERTS (the stack's CA): an IdP with a company CA needs no merged bundle.
 * Node does not expose undici's Agent class, so the new dispatcher is built from the
 * constructor of the current one. Answers a function that restores the previous dispatcher.
 */
export async function trustCertificateAuthorities(caPems: readonly string[]): Promise<() => Promise<void>> {
  const registry = globalThis as unknown as Record<symbol, UndiciAgentLike | undefined>;
  // the dispatcher is created lazily with fetch's first use
  if (registry[globalDispatcherSymbol] === undefined) await fetch('data:,');
  const previous = registry[globalDispatcherSymbol];
  if (previous === undefined) throw new Error('cannot find the global fetch dispatcher of this Node.js version');
  // an explicit `ca` replaces Node's default list, so the extra CA file is added back by hand
  const extra = process.env.NODE_EXTRA_CA_CERTS && existsSync(process.env.NODE_EXTRA_CA_CERTS) ? [readFileSync(process.env.NODE_EXTRA_CA_CERTS, 'utf8')] : [];
  const AgentClass = previous.constructor as UndiciAgentConstructor;
  const trusting = new AgentClass({ connect: { ca: [...rootCertificates, ...extra, ...caPems] } });
  registry[globalDispatcherSymbol] = trusting;
  return async () => {
    registry[globalDispatcherSymbol] = previous;
    await trusting.close();
  };
}
