import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { toString as qrToString } from 'qrcode';
import { isFedgateError, type StackFile } from '@fedgate/contracts';
import {
  assertLoginConnection,
  assertLoginFederation,
  authTypeKeyOf,
  ensureFlwrGitignore,
  flwrHome,
  flwrLoginForm,
  isFlwrConfigError,
  loadFlwrProject,
  readSuperlinkConnection,
  selectFederation,
  writeFlwrCredentialStore,
  writeFlwrCredentials,
  type FlwrTokens,
} from '@fedgate/flwr-config';
import { LoginServiceClient, isLoginClientError, loginErrorCode, waitForDeviceTokens, type WaitTick } from '@fedgate/login-client';
import { findStackFile, readStackFile } from '@fedgate/stack';

/** Messages `flwr login` prints; `fedgate login` prints the same, in the same order. */
export const LOGIN_MESSAGES = {
  usingSuperlink: (name: string, address: string) => `Using SuperLink: ${name} (${address})`,
  loading: 'Loading project configuration... ',
  loaded: 'Success',
  gitignoreCreated: 'Creating a new `.gitignore` with `.credentials` entry...',
  gitignoreWithoutEntry:
    '`.gitignore` exists, but `.credentials` entry not found. Consider adding it to your `.gitignore` to exclude Flower credentials from git.',
  openUrl: (url: string) => `Please login with your user credentials here: ${url}`,
  success: '✅ Login successful.',
  expired: 'The login expired before it was completed. Run the command again.',
} as const;

interface LoginOptions {
  flwrVersion?: string;
  loginUrl?: string;
  apiKey?: string;
  caCert?: string;
  scope?: string;
  qr: boolean;
}

/** A failure of the command: main prints `error: <code>: <message>` and exits 1. */
class LoginCommandError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function env(name: string): string | undefined {
  const value = process.env[name];
  return value === undefined || value === '' ? undefined : value;
}

interface LoginService {
  url: string;
  apiKey: string;
  caPem?: string;
}

/** --login-url / --api-key / --ca-cert, else FEDGATE_LOGIN_URL / FEDGATE_API_KEY / FEDGATE_CA_CERT, else .fedgate/stack.json. */
function resolveLoginService(opts: LoginOptions): LoginService {
  let stackFile: string | undefined;
  let cached: StackFile | undefined;
  const stack = (): StackFile => {
    if (cached) return cached;
    try {
      stackFile = findStackFile();
      cached = readStackFile(stackFile);
      return cached;
    } catch (err) {
      throw new LoginCommandError(
        'login_service_not_configured',
        'No login service configured: pass --login-url and --api-key, set FEDGATE_LOGIN_URL and FEDGATE_API_KEY, ' +
          `or start the local stack (npm run stack). (${(err as Error).message})`,
      );
    }
  };
  const urlOption = opts.loginUrl ?? env('FEDGATE_LOGIN_URL');
  const url = urlOption ?? stack().services.login;
  const apiKey = opts.apiKey ?? env('FEDGATE_API_KEY') ?? stack().api_key;
  let caFile = opts.caCert ?? env('FEDGATE_CA_CERT');
  if (caFile === undefined && urlOption === undefined && stackFile !== undefined) {
    // the stack's own services: trust the stack's CA, relative paths from the repository root
    caFile = path.resolve(path.dirname(path.dirname(stackFile)), stack().ca_cert);
  }
  if (caFile === undefined) return { url, apiKey };
  try {
    return { url, apiKey, caPem: readFileSync(caFile, 'utf8') };
  } catch (err) {
    throw new LoginCommandError('invalid_ca_cert', `Cannot read the CA certificate ${caFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`);
  }
}

const TLS_ERROR = /certificate|CERT_|self[- ]signed|SSL|TLS/i;

/** One clear sentence per failure; never a token. */
function toCommandError(err: unknown, service: LoginService): Error {
  if (err instanceof LoginCommandError) return err;
  if (isFlwrConfigError(err)) return new LoginCommandError(err.code, err.message);
  const code = loginErrorCode(err);
  if (code === undefined) return err as Error;
  const message = (err as Error).message;
  switch (code) {
    case 'expired_token':
      return new LoginCommandError(code, LOGIN_MESSAGES.expired);
    case 'access_denied':
      return new LoginCommandError(code, 'The sign-in was denied at the identity provider. Run the command again to retry.');
    case 'idp_unavailable':
      return new LoginCommandError(code, `The identity provider is unavailable, so the login service cannot sign you in right now (${message}). Try again later.`);
    case 'dependency_unavailable':
      return new LoginCommandError(code, `The login service cannot sign you in right now (${message}). Try again later.`);
    case 'login_service_unreachable': {
      const cause = (err as Error).cause;
      const tlsHint = cause instanceof Error && TLS_ERROR.test(`${(cause as NodeJS.ErrnoException).code ?? ''} ${cause.message}`)
        ? ' Trust its CA with --ca-cert (or NODE_EXTRA_CA_CERTS).'
        : '';
      return new LoginCommandError(code, `${message} Check --login-url (or FEDGATE_LOGIN_URL) and that the login service is running.${tlsHint}`);
    }
    case 'invalid_client':
      return new LoginCommandError(code, `The login service at ${new URL(service.url).origin} refused the API key. Check --api-key (or FEDGATE_API_KEY).`);
    case 'invalid_grant':
      return new LoginCommandError(code, 'The login service no longer accepts this login. Run the command again.');
    case 'login_aborted':
      return new LoginCommandError(code, 'The login was cancelled.');
    default:
      if (isFedgateError(err) || isLoginClientError(err)) return new LoginCommandError(code, message);
      return err as Error;
  }
}

/** The live "time left" line, on a terminal only. */
class WaitIndicator {
  private static readonly FRAMES = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏';
  private frame = 0;
  private drawn = false;

  constructor(private readonly stream: NodeJS.WriteStream) {}

  update = (tick: WaitTick): void => {
    const minutes = Math.floor(tick.secondsLeft / 60);
    const seconds = String(tick.secondsLeft % 60).padStart(2, '0');
    const spinner = WaitIndicator.FRAMES[this.frame++ % WaitIndicator.FRAMES.length];
    this.stream.write(`\r\x1b[2K${spinner} Waiting for the sign-in to complete... ${minutes}:${seconds} left`);
    this.drawn = true;
  };

  clear(): void {
    if (this.drawn) this.stream.write('\r\x1b[2K');
    this.drawn = false;
  }
}

/**
 * Where the tokens go, as the installed flwr reads them: 1.26+ FLWR_HOME/credentials.yaml for
 * the SuperLink connection of FLWR_HOME/config.toml; 1.22-1.25 APP/.flwr/.credentials/<federation>.json.
 */
interface LoginTarget {
  store(tokens: FlwrTokens): void;
}

function prepareTarget(opts: LoginOptions, app: string, federation: string | undefined, out: (line: string) => void): { target: LoginTarget; afterStart: () => void } {
  const { version, form } = flwrLoginForm({ app, ...(opts.flwrVersion ? { flwrVersion: opts.flwrVersion } : {}) });
  if (form === 'config-toml') {
    // `flwr login [SUPERLINK]`: the one argument names the connection (a directory means "the default")
    const name = federation ?? (app !== '.' && !(existsSync(app) && statSync(app).isDirectory()) ? app : undefined);
    const connection = readSuperlinkConnection(name);
    assertLoginConnection(connection);
    out(LOGIN_MESSAGES.usingSuperlink(connection.name, connection.address));
    return {
      target: { store: (tokens) => void writeFlwrCredentialStore(flwrHome(), connection.address, tokens) },
      afterStart: () => undefined,
    };
  }
  out(LOGIN_MESSAGES.loading);
  const project = loadFlwrProject(app);
  out(LOGIN_MESSAGES.loaded);
  const selected = selectFederation(project, federation);
  assertLoginFederation(selected);
  return {
    target: { store: (tokens) => void writeFlwrCredentials(project.appDir, selected.name, tokens, authTypeKeyOf(version)) },
    afterStart: () => {
      const gitignore = ensureFlwrGitignore(project.appDir);
      if (gitignore.created) out(LOGIN_MESSAGES.gitignoreCreated);
      else if (!gitignore.ignoresCredentials) process.stderr.write(`${LOGIN_MESSAGES.gitignoreWithoutEntry}\n`);
    },
  };
}

async function login(app: string, federation: string | undefined, opts: LoginOptions): Promise<void> {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const service = resolveLoginService(opts);
  const abort = new AbortController();
  const onInterrupt = () => abort.abort();
  process.once('SIGINT', onInterrupt);
  const indicator = process.stdout.isTTY ? new WaitIndicator(process.stdout) : undefined;
  try {
    const client = new LoginServiceClient({ baseUrl: service.url, apiKey: service.apiKey, userAgent: 'fedgate-cli', ...(service.caPem ? { ca: service.caPem } : {}) });
    const { target, afterStart } = prepareTarget(opts, app, federation, out);

    const details = await client.startDeviceLogin(opts.scope, { signal: abort.signal });
    afterStart();

    out(LOGIN_MESSAGES.openUrl(details.verification_uri_complete));
    if (opts.qr) {
      const qr = await qrToString(details.verification_uri_complete, { type: 'terminal', small: true });
      process.stdout.write(qr.endsWith('\n') ? qr : `${qr}\n`);
    }

    let tokens;
    try {
      tokens = await waitForDeviceTokens({
        client,
        deviceCode: details.device_code,
        interval: details.interval,
        expiresIn: details.expires_in,
        signal: abort.signal,
        ...(indicator ? { onTick: indicator.update } : {}),
      });
    } finally {
      indicator?.clear();
    }

    target.store({ accessToken: tokens.access_token, refreshToken: tokens.refresh_token });
    out(LOGIN_MESSAGES.success);
  } catch (err) {
    throw toCommandError(err, service);
  } finally {
    process.removeListener('SIGINT', onInterrupt);
  }
}

/** `fedgate login [APP] [FEDERATION]`: the twin of `flwr login`, through Fedgate's login service. */
export function registerLoginCommand(program: Command): void {
  program
    .command('login')
    .description(
      'log in like `flwr login`, in the form the installed flwr reads: 1.26+ the SuperLink connection of FLWR_HOME/config.toml, ' +
        'tokens in FLWR_HOME/credentials.yaml; 1.22-1.25 a federation of APP/pyproject.toml, tokens in APP/.flwr/.credentials/<federation>.json',
    )
    .argument('[app]', 'flwr 1.26+: the SuperLink connection name (default: `default` of [superlink]); before: the Flower app directory', '.')
    .argument('[federation]', 'flwr 1.22-1.25: the federation (default: `default` of [tool.flwr.federations]); 1.26+: the SuperLink connection name')
    .option('--flwr-version <version>', 'the flwr release whose files to write (default: $FEDGATE_FLWR_VERSION, else `flwr --version` on PATH)')
    .option('--login-url <url>', 'login service base URL (default: $FEDGATE_LOGIN_URL, else services.login of .fedgate/stack.json)')
    .option('--api-key <key>', 'client key for the login service (default: $FEDGATE_API_KEY, else api_key of .fedgate/stack.json)')
    .option('--ca-cert <file>', "extra CA certificate (PEM) to trust for the login service (default: $FEDGATE_CA_CERT, else the stack's CA when the URL comes from .fedgate/stack.json)")
    .option('--scope <scopes>', 'OAuth scopes to request (space-separated; default: the login service decides)')
    .option('--no-qr', 'do not print a QR code of the sign-in URL')
    .action(async (app: string, federation: string | undefined, opts: LoginOptions) => {
      await login(app, federation, opts);
    });
}
