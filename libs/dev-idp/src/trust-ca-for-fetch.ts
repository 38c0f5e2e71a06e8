import { rootCertificates } from 'node:tls';

// Node's fetch (bundled undici) keeps its process-wide dispatcher under this registry symbol;
// undici itself uses it so that separately installed copies share one global dispatcher.
const globalDispatcherSymbol = Symbol.for('undici.globalDispatcher.1');

interface UndiciAgentLike {
  close(): Promise<void>;
}
type UndiciAgentConstructor = new (options: { connect: { ca: string[] } }) => UndiciAgentLike;

/**
 * Makes the global fetch of THIS process trust `caPem` in addition to the public roots —
 * for in-process tests only. Processes (apps, CLIs) should instead be started with
 * NODE_EXTRA_CA_CERTS=.fedgate/tls/ca.pem, which Node reads once at start and which
 * therefore cannot be set from inside a running test.
 *
 * Node does not expose undici's Agent class, so this builds one from the constructor of
 * the current global dispatcher. Returns a function that restores the previous dispatcher.
 */
export async function trustCertificateAuthorityForFetch(caPem: string): Promise<() => Promise<void>> {
  const registry = globalThis as unknown as Record<symbol, UndiciAgentLike | undefined>;
  if (registry[globalDispatcherSymbol] === undefined) {
    // The dispatcher is created lazily with fetch's first use.
    await fetch('data:,');
  }
  const previous = registry[globalDispatcherSymbol];
  if (previous === undefined) throw new Error('cannot find the global fetch dispatcher of this Node.js version');
  const AgentClass = previous.constructor as UndiciAgentConstructor;
  const trustingAgent = new AgentClass({ connect: { ca: [...rootCertificates, caPem] } });
  registry[globalDispatcherSymbol] = trustingAgent;
  return async () => {
    registry[globalDispatcherSymbol] = previous;
    await trustingAgent.close();
  };
}
