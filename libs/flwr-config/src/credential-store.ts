import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { FlwrConfigError } from './errors';
import type { FlwrTokens } from './credentials';

/**
 * flwr 1.26+ keeps account tokens in FLWR_HOME/credentials.yaml, one entry per SuperLink
 * address, each value base64 (flwr.supercore.credential_store.FileCredentialStore):
 *
 *     flower.account-auth.<address>.authn-type: <base64 "oidc">
 *     flower.account-auth.<address>.oidc-access-token: <base64>
 *     flower.account-auth.<address>.oidc-refresh-token: <base64>
 *
 * written with PyYAML's safe_dump (keys sorted, block style) to a temporary file in the same
 * directory (mode 0600) that replaces the old one.
 */
export const CREDENTIAL_STORE_FILE = 'credentials.yaml';

export const credentialStoreKeys = (address: string) => ({
  authnType: `flower.account-auth.${address}.authn-type`,
  accessToken: `flower.account-auth.${address}.oidc-access-token`,
  refreshToken: `flower.account-auth.${address}.oidc-refresh-token`,
});

/** Entries of an existing store; flwr drops a file that is not a YAML mapping, and so does this. */
function readStore(file: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return {};
  }
  try {
    const value: unknown = parseYaml(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
  } catch {
    return {};
  }
}

// YAML 1.1 implicit types PyYAML resolves (bool, int, float, null, timestamp, merge, value): such
// text would not read back as a string, so PyYAML quotes it.
const IMPLICIT = [
  /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/,
  /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/,
  /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/,
  /^(?:~|null|Null|NULL|)$/,
  /^[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?/,
  /^(?:<<|=)$/,
];
const PLAIN = /^[A-Za-z0-9_.][A-Za-z0-9_./+=:-]*$/;

/** One scalar as PyYAML's safe_dump writes it: plain when it reads back as this string, else single-quoted. */
function scalar(text: string): string {
  if (PLAIN.test(text) && !IMPLICIT.some((re) => re.test(text))) return text;
  return `'${text.replaceAll("'", "''")}'`;
}

/** The exact text flwr writes for these entries. */
export function credentialStoreContent(entries: Record<string, string>): string {
  const keys = Object.keys(entries).sort();
  if (keys.length === 0) return '{}\n';
  return keys.map((key) => `${scalar(key)}: ${scalar(entries[key]!)}\n`).join('');
}

/**
 * Stores the tokens for the SuperLink at `address` in HOME/credentials.yaml the way `flwr login`
 * (1.26+) does, keeping the other entries. Returns the file's path. Throws `credentials_write_failed`.
 */
export function writeFlwrCredentialStore(home: string, address: string, tokens: FlwrTokens): string {
  if (!tokens.accessToken || !tokens.refreshToken) {
    throw new FlwrConfigError('credentials_write_failed', 'Refusing to store credentials: the access and refresh tokens must be non-empty strings.');
  }
  const file = path.join(home, CREDENTIAL_STORE_FILE);
  const keys = credentialStoreKeys(address);
  const b64 = (value: string) => Buffer.from(value, 'utf8').toString('base64');
  const entries = { ...readStore(file), [keys.authnType]: b64('oidc'), [keys.accessToken]: b64(tokens.accessToken), [keys.refreshToken]: b64(tokens.refreshToken) };
  const temporary = path.join(home, `.${CREDENTIAL_STORE_FILE}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    mkdirSync(home, { recursive: true, mode: 0o700 });
    const fd = openSync(temporary, 'wx', 0o600);
    try {
      writeSync(fd, credentialStoreContent(entries));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, file);
    chmodSync(file, 0o600);
    return file;
  } catch (cause) {
    rmSync(temporary, { force: true });
    throw new FlwrConfigError('credentials_write_failed', `Cannot write ${file}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}.`, { cause });
  }
}

/**
 * The tokens flwr 1.26+ (or `fedgate login`) stored for the SuperLink at `address`, for tools that
 * act as the person who logged in. Throws `not_logged_in` (never echoing the file: it holds secrets).
 */
export function readFlwrCredentialStore(home: string, address: string): FlwrTokens & { path: string } {
  const file = path.join(home, CREDENTIAL_STORE_FILE);
  const keys = credentialStoreKeys(address);
  const store = readStore(file);
  const decode = (key: string) => Buffer.from(store[key] ?? '', 'base64').toString('utf8');
  const accessToken = decode(keys.accessToken);
  const refreshToken = decode(keys.refreshToken);
  if (decode(keys.authnType) !== 'oidc' || !accessToken || !refreshToken) {
    throw new FlwrConfigError('not_logged_in', `No credentials for ${address} in ${file}: log in first (\`fedgate login\` or \`flwr login\`).`);
  }
  return { path: file, accessToken, refreshToken };
}
