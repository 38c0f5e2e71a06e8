import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface ThrowawayTls {
  /** PEM of the CA that signed the server certificate. */
  readonly caPem: string;
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/**
 * For tests: a fresh CA and a server certificate for 127.0.0.1/localhost, valid two days,
 * written with openssl into `directory` (ca.pem, server.pem, server-key.pem — the same
 * names as .fedgate/tls).
 */
export async function createThrowawayTls(directory: string): Promise<ThrowawayTls> {
  const file = (name: string): string => join(directory, name);
  const openssl = (args: string[]): Promise<unknown> => execFileAsync('openssl', args, { cwd: directory });
  await openssl([
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
    '-keyout', file('ca-key.pem'), '-out', file('ca.pem'),
    '-subj', '/CN=Fedgate throwaway test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  await openssl([
    'req', '-newkey', 'rsa:2048', '-nodes',
    '-keyout', file('server-key.pem'), '-out', file('server.csr'),
    '-subj', '/CN=127.0.0.1',
  ]);
  await writeFile(
    file('server-ext.cnf'),
    [
      'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost',
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      '',
    ].join('\n'),
  );
  await openssl([
    'x509', '-req', '-days', '2', '-in', file('server.csr'),
    '-CA', file('ca.pem'), '-CAkey', file('ca-key.pem'), '-CAcreateserial',
    '-extfile', file('server-ext.cnf'), '-out', file('server.pem'),
  ]);
  return {
    caPem: await readFile(file('ca.pem'), 'utf8'),
    caFile: file('ca.pem'),
    certFile: file('server.pem'),
    keyFile: file('server-key.pem'),
  };
}
