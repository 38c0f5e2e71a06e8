import { existsSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { FlwrConfigError } from './errors';

/**
 * flwr 1.26+ keeps SuperLink connections in FLWR_HOME/config.toml:
 *
 *     [superlink]
 *     default = "fedgate"
 *
 *     [superlink.fedgate]
 *     address = "127.0.0.1:16093"
 *     root-certificates = "/path/to/ca.pem"
 *     federation = "@account/federation"     # optional
 */
export const FLOWER_CONFIG_FILE = 'config.toml';

export interface SuperlinkConnection {
  name: string;
  /** `host:port` exactly as written: flwr keys the stored tokens by it. */
  address: string;
  /** Absolute (a relative path is taken from the working directory, as flwr does). */
  rootCertificates?: string;
  insecure: boolean;
  federation?: string;
}

/** FLWR_HOME, else ~/.flwr (flwr's get_flwr_home). */
export function flwrHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.FLWR_HOME ? path.resolve(env.FLWR_HOME) : path.join(os.homedir(), '.flwr');
}

function optionalString(table: Record<string, unknown>, key: string, where: string): string | undefined {
  const value = table[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw new FlwrConfigError('invalid_flower_config', `${where}: \`${key}\` must be a non-empty string.`);
  return value;
}

/** The connection `name` (else `[superlink] default`) of FLWR_HOME/config.toml. */
export function readSuperlinkConnection(name?: string, options: { home?: string; cwd?: string } = {}): SuperlinkConnection {
  const file = path.join(options.home ?? flwrHome(), FLOWER_CONFIG_FILE);
  if (!existsSync(file)) {
    throw new FlwrConfigError('flower_config_not_found', `No Flower configuration at ${file}: add a [superlink.<name>] connection there (or set FLWR_HOME).`);
  }
  let document: Record<string, unknown>;
  try {
    document = parseToml(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (cause) {
    throw new FlwrConfigError('invalid_flower_config', `Cannot read ${file}: ${(cause as Error).message}`, { cause });
  }
  const superlink = document.superlink;
  const tables = typeof superlink === 'object' && superlink !== null ? (superlink as Record<string, unknown>) : {};
  const known = Object.keys(tables).filter((key) => typeof tables[key] === 'object' && tables[key] !== null);
  const selected = name ?? (typeof tables.default === 'string' ? tables.default : undefined);
  if (selected === undefined) {
    throw new FlwrConfigError('no_default_connection', `No SuperLink connection given and ${file} sets no \`default\` in [superlink].`, { knownFederations: known });
  }
  const table = tables[selected];
  if (typeof table !== 'object' || table === null || Array.isArray(table)) {
    throw new FlwrConfigError('unknown_connection', `SuperLink connection \`${selected}\` not found in ${file} (known: ${known.join(', ') || 'none'}).`, { knownFederations: known });
  }
  const where = `[superlink.${selected}] of ${file}`;
  const conn = table as Record<string, unknown>;
  const address = optionalString(conn, 'address', where);
  if (address === undefined) throw new FlwrConfigError('connection_without_address', `${where} has no \`address\`.`);
  if (conn.insecure !== undefined && typeof conn.insecure !== 'boolean') throw new FlwrConfigError('invalid_flower_config', `${where}: \`insecure\` must be true or false.`);
  const rootCertificates = optionalString(conn, 'root-certificates', where);
  const federation = optionalString(conn, 'federation', where);
  return {
    name: selected,
    address,
    insecure: conn.insecure === true,
    ...(rootCertificates === undefined ? {} : { rootCertificates: path.resolve(options.cwd ?? process.cwd(), rootCertificates) }),
    ...(federation === undefined ? {} : { federation }),
  };
}

/** What `flwr login` requires of a connection: TLS, and a root certificate file that exists. */
export function assertLoginConnection(connection: SuperlinkConnection): void {
  if (connection.insecure) {
    throw new FlwrConfigError('insecure_federation', `Login requires TLS, but the SuperLink connection \`${connection.name}\` sets \`insecure = true\`.`);
  }
  const file = connection.rootCertificates;
  if (file !== undefined && (!existsSync(file) || !statSync(file).isFile())) {
    throw new FlwrConfigError('root_certificates_not_found', `\`root-certificates\` of SuperLink connection \`${connection.name}\` names ${file}, which is not a file.`);
  }
}
