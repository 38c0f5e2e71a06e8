import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { FLWR_ACCESS_TOKEN_KEY, FLWR_REFRESH_TOKEN_KEY, FlwrCredentialsFileSchema } from '@fedgate/contracts';
import { FlwrConfigError } from './errors';
import { assertSafeFederationName } from './federation-config';

/** Flower's per-app directory and the credentials folder inside it. */
export const FLWR_DIR = '.flwr';
export const CREDENTIALS_DIR = '.credentials';
export const GITIGNORE_FILE = '.gitignore';

const DIR_MODE = 0o700;
const FILE_MODE = 0o600;

/** APP/.flwr (absolute). */
export function flwrDir(appDir: string): string {
  return path.join(path.resolve(appDir), FLWR_DIR);
}

/** APP/.flwr/.credentials/<federation>.json (absolute); throws on an unsafe name. */
export function flwrCredentialsPath(appDir: string, federation: string): string {
  assertSafeFederationName(federation);
  return path.join(flwrDir(appDir), CREDENTIALS_DIR, `${federation}.json`);
}

export interface GitignoreStatus {
  /** APP/.flwr/.gitignore */
  path: string;
  /** True when this call created it (with a `.credentials` line). */
  created: boolean;
  /**
   * False only when the file already existed without a line ignoring
   * `.credentials`; it is then left untouched and the caller should warn.
   */
  ignoresCredentials: boolean;
}

/** Lines that keep `.credentials` out of git (Flower writes the first). */
const CREDENTIALS_LINES = new Set([CREDENTIALS_DIR, `${CREDENTIALS_DIR}/`, `/${CREDENTIALS_DIR}`, `/${CREDENTIALS_DIR}/`]);

function mkdirPrivate(dir: string): void {
  // mode applies only to directories this call creates; existing ones keep theirs
  mkdirSync(dir, { recursive: true, mode: DIR_MODE });
}

/**
 * Makes sure APP/.flwr/.gitignore keeps the credentials out of git, as `flwr login`
 * does: creates it with a `.credentials` line when missing; an existing file is
 * never modified (its status tells whether it lacks the line). Throws `gitignore_failed`.
 */
export function ensureFlwrGitignore(appDir: string): GitignoreStatus {
  const dir = flwrDir(appDir);
  const file = path.join(dir, GITIGNORE_FILE);
  try {
    mkdirPrivate(dir);
    if (!existsSync(file)) {
      try {
        // 'wx': never clobber a file that appeared meanwhile
        const fd = openSync(file, 'wx', 0o644);
        try {
          writeSync(fd, `${CREDENTIALS_DIR}\n`);
        } finally {
          closeSync(fd);
        }
        return { path: file, created: true, ignoresCredentials: true };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
    const lines = readFileSync(file, 'utf8').split(/\r?\n/).map((line) => line.trim());
    return { path: file, created: false, ignoresCredentials: lines.some((line) => CREDENTIALS_LINES.has(line)) };
  } catch (cause) {
    throw new FlwrConfigError('gitignore_failed', `Cannot read or create ${file}: ${(cause as Error).message}. Check the permissions of ${dir}.`, { cause });
  }
}

export interface FlwrTokens {
  accessToken: string;
  refreshToken: string;
}

/** The key of the auth type in the credentials file: `auth-type` in flwr 1.22, `authn-type` from 1.23. */
export type AuthTypeKey = 'auth-type' | 'authn-type';

export function authTypeKeyOf(flwrVersion: string | undefined): AuthTypeKey {
  const [major = 1, minor = 23] = (flwrVersion ?? '').split('.').map((part) => Number.parseInt(part, 10)).filter((n) => !Number.isNaN(n));
  return major === 1 && minor < 23 ? 'auth-type' : 'authn-type';
}

/** The credentials file's exact text: Flower's keys, JSON indented by 4, no trailing newline. */
export function flwrCredentialsFileContent(tokens: FlwrTokens, authTypeKey: AuthTypeKey = 'authn-type'): string {
  const file = {
    [authTypeKey]: 'oidc',
    [FLWR_ACCESS_TOKEN_KEY]: tokens.accessToken,
    [FLWR_REFRESH_TOKEN_KEY]: tokens.refreshToken,
  };
  if (!FlwrCredentialsFileSchema.safeParse(file).success) {
    // never echo the values: they are secrets
    throw new FlwrConfigError('credentials_write_failed', 'Refusing to store credentials: the access and refresh tokens must be non-empty strings.');
  }
  return JSON.stringify(file, null, 4);
}

/**
 * Writes APP/.flwr/.credentials/<federation>.json the way `flwr login` does, so the
 * flwr CLI reads it: keys `authn-type` (`auth-type` for flwr 1.22), `flwr-oidc-access-token`,
 * `flwr-oidc-refresh-token`. Private and atomic: directories created 0700, the file
 * written to a 0600 temporary file in the same directory, then renamed over the old
 * one and chmod-ed 0600. Returns the file's path. Throws `invalid_federation_name`
 * or `credentials_write_failed`.
 */
export function writeFlwrCredentials(appDir: string, federation: string, tokens: FlwrTokens, authTypeKey: AuthTypeKey = 'authn-type'): string {
  const file = flwrCredentialsPath(appDir, federation);
  const content = flwrCredentialsFileContent(tokens, authTypeKey);
  const dir = path.dirname(file);
  const temporary = path.join(dir, `.${federation}.json.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    mkdirPrivate(dir);
    const fd = openSync(temporary, 'wx', FILE_MODE);
    try {
      writeSync(fd, content);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    chmodSync(temporary, FILE_MODE);
    renameSync(temporary, file);
    chmodSync(file, FILE_MODE);
    return file;
  } catch (cause) {
    rmSync(temporary, { force: true });
    throw new FlwrConfigError('credentials_write_failed', `Cannot write ${file}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}.`, { cause });
  }
}

/**
 * The tokens that `flwr login` or `fedgate login` stored for the federation, for tools that act
 * as the person who logged in (`fedgate authz share`...). Throws `not_logged_in` when the file
 * is missing or not Flower's shape (its content is never echoed: it holds secrets).
 */
export function readFlwrCredentials(appDir: string, federation: string): FlwrTokens & { path: string } {
  const file = flwrCredentialsPath(appDir, federation);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new FlwrConfigError('not_logged_in', `No credentials at ${file}: log in first (\`fedgate login\` or \`flwr login\`).`, { cause });
  }
  let parsed: ReturnType<typeof FlwrCredentialsFileSchema.safeParse>;
  try {
    parsed = FlwrCredentialsFileSchema.safeParse(JSON.parse(text));
  } catch (cause) {
    throw new FlwrConfigError('not_logged_in', `${file} is not JSON: log in again.`, { cause });
  }
  if (!parsed.success) throw new FlwrConfigError('not_logged_in', `${file} does not hold Flower OIDC credentials: log in again.`);
  return { path: file, accessToken: parsed.data[FLWR_ACCESS_TOKEN_KEY], refreshToken: parsed.data[FLWR_REFRESH_TOKEN_KEY] };
}
