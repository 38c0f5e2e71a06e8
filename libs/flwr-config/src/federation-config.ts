import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { FlwrConfigError } from './errors';

/** A Flower app's pyproject.toml, reduced to what `flwr login` reads. */
export interface FlwrProject {
  /** Absolute path of the app directory (APP). */
  appDir: string;
  /** Absolute path of APP/pyproject.toml. */
  pyprojectPath: string;
  /** `[tool.flwr.federations]`, or undefined when the section is missing. */
  federationsSection: Readonly<Record<string, unknown>> | undefined;
}

/** One `[tool.flwr.federations.<name>]` table, validated. */
export interface FederationConfig {
  name: string;
  /** SuperLink Control API address (`host:port`), as written. */
  address: string;
  /** Absolute path of `root-certificates` (given relative to APP), when set. */
  rootCertificates?: string;
  /** `insecure` (default false). */
  insecure: boolean;
  /** `enable-account-auth` or its older spelling `enable-user-auth`. */
  accountAuth: boolean;
  /** Which spelling(s) enabled account auth, e.g. to suggest the newer one. */
  accountAuthKeys: readonly ('enable-account-auth' | 'enable-user-auth')[];
  /** The whole table as parsed (other keys, e.g. `options`). */
  raw: Readonly<Record<string, unknown>>;
}

export const PYPROJECT_FILE = 'pyproject.toml';
const SECTION = '[tool.flwr.federations]';

/** Federation names become file names (`.flwr/.credentials/<name>.json`). */
const SAFE_FEDERATION_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** Throws `invalid_federation_name` unless `name` is safe as a file name. */
export function assertSafeFederationName(name: string): void {
  if (!SAFE_FEDERATION_NAME.test(name) || name.includes('..')) {
    throw new FlwrConfigError(
      'invalid_federation_name',
      `The federation name ${JSON.stringify(name)} cannot be used as a file name: use letters, digits, '_', '-' and '.' ` +
        `(not starting with '.' or '-', no '..', no path separators, at most 128 characters).`,
    );
  }
}

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/**
 * Reads APP/pyproject.toml (APP defaults to the current directory). Throws
 * `pyproject_not_found` or `invalid_pyproject`; a missing federations section is
 * reported later, by `selectFederation`, as Flower does.
 */
export function loadFlwrProject(appDir = '.'): FlwrProject {
  const absoluteApp = path.resolve(appDir);
  const pyprojectPath = path.join(absoluteApp, PYPROJECT_FILE);
  if (!existsSync(pyprojectPath)) {
    throw new FlwrConfigError('pyproject_not_found', `No ${PYPROJECT_FILE} found in ${absoluteApp}: pass the directory of a Flower app.`);
  }
  let text: string;
  try {
    text = readFileSync(pyprojectPath, 'utf8');
  } catch (cause) {
    throw new FlwrConfigError('invalid_pyproject', `Cannot read ${pyprojectPath}: ${(cause as Error).message}`, { cause });
  }
  let document: Record<string, unknown>;
  try {
    document = parseToml(text) as Record<string, unknown>;
  } catch (cause) {
    const detail = (cause as Error).message.split('\n')[0];
    const line = (cause as { line?: number }).line;
    throw new FlwrConfigError('invalid_pyproject', `${pyprojectPath} is not valid TOML${line ? ` (line ${line})` : ''}: ${detail}`, { cause });
  }
  const tool = document['tool'];
  const flwr = isTable(tool) ? tool['flwr'] : undefined;
  const federations = isTable(flwr) ? flwr['federations'] : undefined;
  return { appDir: absoluteApp, pyprojectPath, federationsSection: isTable(federations) ? federations : undefined };
}

/** Names of the federation tables declared in `[tool.flwr.federations]`. */
export function listFederations(project: FlwrProject): string[] {
  const section = project.federationsSection;
  if (!section) return [];
  return Object.keys(section).filter((key) => isTable(section[key]));
}

function knownList(known: readonly string[]): string {
  return known.length > 0 ? known.map((name) => `\`${name}\``).join(', ') : '(none)';
}

function optionalBoolean(table: Record<string, unknown>, key: string, federation: string): boolean | undefined {
  const value = table[key];
  if (value === undefined || typeof value === 'boolean') return value;
  throw new FlwrConfigError('invalid_federation_config', `\`${key}\` of federation \`${federation}\` must be true or false, not ${JSON.stringify(value)}.`);
}

/**
 * Picks FEDERATION, or the section's `default`, and validates its table. Errors:
 * `no_federations`, `no_default_federation`, `unknown_federation` (with the known
 * names), `invalid_federation_name`, `federation_without_address`,
 * `invalid_federation_config`.
 */
export function selectFederation(project: FlwrProject, federation?: string): FederationConfig {
  const section = project.federationsSection;
  const known = listFederations(project);
  if (!section || known.length === 0) {
    throw new FlwrConfigError(
      'no_federations',
      `${project.pyprojectPath} declares no federation: add a ${SECTION} section with a \`[tool.flwr.federations.<name>]\` table.`,
    );
  }
  let name = federation;
  if (name === undefined || name === '') {
    const fallback = section['default'];
    if (fallback === undefined) {
      throw new FlwrConfigError(
        'no_default_federation',
        `No federation was named and ${SECTION} has no \`default\`. Name one of: ${knownList(known)}.`,
        { knownFederations: known },
      );
    }
    if (typeof fallback !== 'string') {
      throw new FlwrConfigError('invalid_federation_config', `\`default\` in ${SECTION} must be a federation name (a string).`);
    }
    name = fallback;
  }
  assertSafeFederationName(name);
  const table = section[name];
  if (!isTable(table)) {
    throw new FlwrConfigError(
      'unknown_federation',
      `There is no \`${name}\` federation in ${project.pyprojectPath}. Known federations: ${knownList(known)}.`,
      { knownFederations: known },
    );
  }

  const address = table['address'];
  if (address === undefined || (typeof address === 'string' && address.trim() === '')) {
    throw new FlwrConfigError(
      'federation_without_address',
      `The federation \`${name}\` has no \`address\`: set the SuperLink's Control API address (host:port) in ${PYPROJECT_FILE}.`,
    );
  }
  if (typeof address !== 'string') {
    throw new FlwrConfigError('invalid_federation_config', `\`address\` of federation \`${name}\` must be a string (host:port).`);
  }

  const rootCertificates = table['root-certificates'];
  if (rootCertificates !== undefined && (typeof rootCertificates !== 'string' || rootCertificates === '')) {
    throw new FlwrConfigError('invalid_federation_config', `\`root-certificates\` of federation \`${name}\` must be a file path.`);
  }

  const insecure = optionalBoolean(table, 'insecure', name) ?? false;
  const accountAuthKeys: ('enable-account-auth' | 'enable-user-auth')[] = [];
  if (optionalBoolean(table, 'enable-account-auth', name) === true) accountAuthKeys.push('enable-account-auth');
  if (optionalBoolean(table, 'enable-user-auth', name) === true) accountAuthKeys.push('enable-user-auth');

  return {
    name,
    address,
    ...(rootCertificates === undefined ? {} : { rootCertificates: path.resolve(project.appDir, rootCertificates) }),
    insecure,
    accountAuth: accountAuthKeys.length > 0,
    accountAuthKeys,
    raw: table,
  };
}

/**
 * What `flwr login` demands of a federation before it starts a login: account
 * authentication enabled, TLS (never `insecure = true`), and readable root
 * certificates when given. Errors: `account_auth_disabled`, `insecure_federation`,
 * `root_certificates_not_found`.
 */
export function assertLoginFederation(federation: FederationConfig): void {
  if (!federation.accountAuth) {
    throw new FlwrConfigError(
      'account_auth_disabled',
      `Account authentication is not enabled for the federation \`${federation.name}\`: set \`enable-account-auth = true\` in its table.`,
    );
  }
  if (federation.insecure) {
    throw new FlwrConfigError(
      'insecure_federation',
      `Login requires TLS, but the federation \`${federation.name}\` sets \`insecure = true\`: remove it (and set \`root-certificates\` if the SuperLink uses a private CA).`,
    );
  }
  if (federation.rootCertificates !== undefined) {
    const file = federation.rootCertificates;
    if (!existsSync(file) || !statSync(file).isFile()) {
      throw new FlwrConfigError('root_certificates_not_found', `\`root-certificates\` of federation \`${federation.name}\` names ${file}, which is not a file.`);
    }
  }
}

/** `loadFlwrProject` + `selectFederation` + `assertLoginFederation`. */
export function resolveLoginFederation(appDir = '.', federation?: string): FederationConfig {
  const selected = selectFederation(loadFlwrProject(appDir), federation);
  assertLoginFederation(selected);
  return selected;
}
