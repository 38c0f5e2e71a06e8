// `fedgate login` end to end, as a subprocess of the compiled CLI, against an in-test fake
// login service (plain http on 127.0.0.1) and a temporary Flower app. The test against the
// real login service of the stack is an integration test of its own.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it, type TestContext } from 'node:test';

const MAIN = path.join(__dirname, 'main.js');
const API_KEY = 'cli-test-key-0123456789';
const VERIFY_URL = 'https://idp.example/device?user_code=ABCD-1234';
const ACCESS = 'eyJhbGciOiJSUzI1NiJ9.access-token-secret.sig';
const REFRESH = 'refresh-token-secret-value';

type TokenStep = { status: number; body: unknown };
const pending: TokenStep = { status: 400, body: { error: 'authorization_pending', error_description: 'not yet' } };
const tokens: TokenStep = {
  status: 200,
  body: { access_token: ACCESS, refresh_token: REFRESH, token_type: 'Bearer', expires_in: 300, account: { flwr_aid: 'alice-sub', account_name: 'alice' } },
};
const oauthError = (error: string): TokenStep => ({ status: 400, body: { error, error_description: `${error} from the fake` } });

/** The login service's device-flow endpoints, scripted per test (one server per test, so tests run concurrently). */
class FakeLoginService {
  readonly requests: { url: string; key: string | undefined; body: Record<string, unknown> }[] = [];
  authorize: TokenStep = {
    status: 200,
    body: {
      authn_type: 'oidc', device_code: 'device-code-secret', user_code: 'ABCD-1234',
      verification_uri: 'https://idp.example/device', verification_uri_complete: VERIFY_URL,
      expires_in: 600, interval: 1,
    },
  };
  tokenSteps: TokenStep[] = [pending, tokens];
  url = '';
  private polls = 0;
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      const key = req.headers['x-fedgate-key'] as string | undefined;
      this.requests.push({ url: req.url ?? '', key, body });
      let answer: TokenStep;
      if (key !== API_KEY) answer = { status: 401, body: { error: 'invalid_client', error_description: 'unknown client key' } };
      else if (req.url === '/v1/device/authorize') answer = this.authorize;
      else if (req.url === '/v1/device/token') answer = this.tokenSteps[Math.min(this.polls++, this.tokenSteps.length - 1)];
      else answer = { status: 404, body: { error: 'not_found', error_description: 'no such path' } };
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer.body));
    });
  });

  /** Starts a fake for one test and stops it when the test ends. */
  static async start(t: TestContext, tokenSteps?: TokenStep[]): Promise<FakeLoginService> {
    const fake = new FakeLoginService();
    if (tokenSteps) fake.tokenSteps = tokenSteps;
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    fake.url = `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
    t.after(async () => {
      fake.server.closeAllConnections();
      await new Promise<void>((resolve) => fake.server.close(() => resolve()));
    });
    return fake;
  }

  /** --login-url, --api-key and --no-qr for this fake. */
  flags(): string[] {
    return ['--login-url', this.url, '--api-key', API_KEY, '--no-qr'];
  }
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the compiled CLI; FEDGATE_* settings come only from `env` (a running stack is never picked up). */
function fedgate(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<Run> {
  // the pyproject form of flwr 1.23-1.25 unless a test asks for another release: never the flwr on PATH
  const env: NodeJS.ProcessEnv = { ...process.env, FEDGATE_STACK_FILE: path.join(tmpdir(), 'no-such-fedgate-stack.json'), FEDGATE_FLWR_VERSION: '1.23.0', ...options.env };
  for (const name of ['FEDGATE_LOGIN_URL', 'FEDGATE_API_KEY', 'FEDGATE_CA_CERT']) if (!options.env?.[name]) delete env[name];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { cwd: options.cwd ?? tmpdir(), env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const PYPROJECT = `
[project]
name = "quickstart"

[tool.flwr.federations]
default = "remote"

[tool.flwr.federations.remote]
address = "127.0.0.1:9093"
enable-account-auth = true

[tool.flwr.federations.legacy]
address = "127.0.0.1:9093"
enable-user-auth = true

[tool.flwr.federations.plain]
address = "127.0.0.1:9093"
insecure = true
enable-account-auth = true
`;

const dirs: string[] = [];
function flowerApp(pyproject: string | null = PYPROJECT): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'fedgate-login-app-'));
  dirs.push(dir);
  if (pyproject !== null) writeFileSync(path.join(dir, 'pyproject.toml'), pyproject);
  return dir;
}

const lines = (...items: string[]) => items.map((line) => `${line}\n`).join('');
const credentialsOf = (app: string, federation: string) => path.join(app, '.flwr', '.credentials', `${federation}.json`);
const expectedCredentials = JSON.stringify({ 'authn-type': 'oidc', 'flwr-oidc-access-token': ACCESS, 'flwr-oidc-refresh-token': REFRESH }, null, 4);

function assertNoSecrets(run: Run): void {
  for (const secret of [ACCESS, REFRESH, 'device-code-secret', API_KEY]) {
    assert.ok(!run.stdout.includes(secret) && !run.stderr.includes(secret), 'no token or key is ever printed');
  }
}

after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('fedgate login (compiled CLI against a fake login service)', { concurrency: true }, () => {
  it("logs in to the default federation: Flower's messages in order, credentials 0600, .gitignore created", async (t) => {
    const fake = await FakeLoginService.start(t);
    const app = flowerApp();
    const run = await fedgate(['login', app, ...fake.flags(), '--scope', 'openid offline_access']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(
      run.stdout,
      lines(
        'Loading project configuration... ',
        'Success',
        'Creating a new `.gitignore` with `.credentials` entry...',
        `Please login with your user credentials here: ${VERIFY_URL}`,
        '✅ Login successful.',
      ),
    );
    assert.equal(run.stderr, '');
    assertNoSecrets(run);

    const file = credentialsOf(app, 'remote');
    assert.equal(readFileSync(file, 'utf8'), expectedCredentials);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(readFileSync(path.join(app, '.flwr', '.gitignore'), 'utf8'), '.credentials\n');

    assert.deepEqual(fake.requests.map((r) => r.url), ['/v1/device/authorize', '/v1/device/token', '/v1/device/token']);
    assert.ok(fake.requests.every((r) => r.key === API_KEY), 'every call carries x-fedgate-key');
    assert.deepEqual(fake.requests[0].body, { scope: 'openid offline_access' });
    assert.deepEqual(fake.requests[1].body, { device_code: 'device-code-secret' });
  });

  it('a second run (APP = current directory, named federation) keeps .gitignore and replaces the credentials', async (t) => {
    const app = flowerApp();
    const first = await FakeLoginService.start(t, [tokens]);
    assert.equal((await fedgate(['login', app, 'legacy', ...first.flags()])).code, 0);
    writeFileSync(path.join(app, '.flwr', '.gitignore'), '.credentials\n# mine\n');

    const second = await FakeLoginService.start(t, [{ ...tokens, body: { ...(tokens.body as object), access_token: 'second-access' } }]);
    const run = await fedgate(['login', '.', 'legacy', ...second.flags()], { cwd: app });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, lines('Loading project configuration... ', 'Success', `Please login with your user credentials here: ${VERIFY_URL}`, '✅ Login successful.'));
    assert.equal(run.stderr, '');
    assert.equal(readFileSync(path.join(app, '.flwr', '.gitignore'), 'utf8'), '.credentials\n# mine\n');
    const file = credentialsOf(app, 'legacy');
    assert.equal(JSON.parse(readFileSync(file, 'utf8'))['flwr-oidc-access-token'], 'second-access');
    assert.equal(statSync(file).mode & 0o777, 0o600);
  });

  it('warns on stderr when .flwr/.gitignore exists without `.credentials`, and leaves it alone', async (t) => {
    const fake = await FakeLoginService.start(t, [tokens]);
    const app = flowerApp();
    mkdirSync(path.join(app, '.flwr'));
    writeFileSync(path.join(app, '.flwr', '.gitignore'), '*.log\n');
    const run = await fedgate(['login', app, ...fake.flags()]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(
      run.stderr,
      lines('`.gitignore` exists, but `.credentials` entry not found. Consider adding it to your `.gitignore` to exclude Flower credentials from git.'),
    );
    assert.ok(!run.stdout.includes('Creating a new'));
    assert.equal(readFileSync(path.join(app, '.flwr', '.gitignore'), 'utf8'), '*.log\n');
    assert.ok(existsSync(credentialsOf(app, 'remote')));
  });

  it('prints a terminal QR code of the URL unless --no-qr', async (t) => {
    const fake = await FakeLoginService.start(t, [tokens]);
    const run = await fedgate(['login', flowerApp(), '--login-url', fake.url, '--api-key', API_KEY]);
    assert.equal(run.code, 0, run.stderr);
    const out = run.stdout.split('\n');
    const urlLine = out.indexOf(`Please login with your user credentials here: ${VERIFY_URL}`);
    const successLine = out.indexOf('✅ Login successful.');
    assert.ok(urlLine > 0 && successLine > urlLine + 10, 'a QR code sits between the URL and the success line');
    assert.match(out.slice(urlLine + 1, successLine).join('\n'), /[▀▄█]/);
  });

  it('an expired login: one clear line, exit 1, no credentials', async (t) => {
    const fake = await FakeLoginService.start(t, [oauthError('expired_token')]);
    const app = flowerApp();
    const run = await fedgate(['login', app, ...fake.flags()]);
    assert.equal(run.code, 1);
    assert.equal(run.stderr, lines('error: expired_token: The login expired before it was completed. Run the command again.'));
    assert.ok(!run.stdout.includes('Login successful'));
    assert.equal(existsSync(credentialsOf(app, 'remote')), false);
  });

  it('a denied login: exit 1 with access_denied', async (t) => {
    const fake = await FakeLoginService.start(t, [pending, oauthError('access_denied')]);
    const app = flowerApp();
    const run = await fedgate(['login', app, ...fake.flags()]);
    assert.equal(run.code, 1);
    assert.equal(run.stderr, lines('error: access_denied: The sign-in was denied at the identity provider. Run the command again to retry.'));
    assert.equal(existsSync(credentialsOf(app, 'remote')), false);
  });

  it('the IdP unavailable (503 idp_unavailable from the service): exit 1, said so', async (t) => {
    const fake = await FakeLoginService.start(t);
    fake.authorize = { status: 503, body: { error: 'idp_unavailable', error_description: 'The identity provider does not answer.' } };
    const run = await fedgate(['login', flowerApp(), ...fake.flags()]);
    assert.equal(run.code, 1);
    assert.equal(run.stdout, lines('Loading project configuration... ', 'Success'));
    assert.match(run.stderr, /^error: idp_unavailable: The identity provider is unavailable.*Try again later\.\n$/);
  });

  it('the login service unreachable: exit 1 with login_service_unreachable', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const run = await fedgate(['login', flowerApp(), '--login-url', `http://127.0.0.1:${port}`, '--api-key', API_KEY, '--no-qr']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^error: login_service_unreachable: Cannot reach the login service at http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED.*Check --login-url/);
    assert.equal(run.stderr.split('\n').length, 2, 'one line');
  });

  it('a wrong API key: exit 1 with invalid_client, the key never printed', async (t) => {
    const fake = await FakeLoginService.start(t);
    const run = await fedgate(['login', flowerApp(), '--login-url', fake.url, '--api-key', 'wrong-key-secret', '--no-qr']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^error: invalid_client: The login service at http:\/\/127\.0\.0\.1:\d+ refused the API key/);
    assert.ok(!run.stderr.includes('wrong-key-secret'));
  });

  it('bad configuration fails before any request: insecure, unknown federation, no pyproject.toml, unsafe name, no address', async (t) => {
    const fake = await FakeLoginService.start(t);
    const app = flowerApp();
    const insecure = await fedgate(['login', app, 'plain', ...fake.flags()]);
    assert.equal(insecure.code, 1);
    assert.match(insecure.stderr, /^error: insecure_federation: Login requires TLS/);

    const unknown = await fedgate(['login', app, 'nope', ...fake.flags()]);
    assert.equal(unknown.code, 1);
    assert.equal(unknown.stdout, lines('Loading project configuration... ', 'Success'));
    assert.match(unknown.stderr, /^error: unknown_federation: There is no `nope` federation .* Known federations: `remote`, `legacy`, `plain`\.\n$/);

    const missing = await fedgate(['login', flowerApp(null), ...fake.flags()]);
    assert.equal(missing.code, 1);
    assert.equal(missing.stdout, lines('Loading project configuration... '));
    assert.match(missing.stderr, /^error: pyproject_not_found: /);

    const unsafe = await fedgate(['login', app, '../x', ...fake.flags()]);
    assert.equal(unsafe.code, 1);
    assert.match(unsafe.stderr, /^error: invalid_federation_name: /);

    const local = '[tool.flwr.federations]\ndefault = "local"\n[tool.flwr.federations.local]\noptions.num-supernodes = 2\n';
    const noAddress = await fedgate(['login', flowerApp(local), ...fake.flags()]);
    assert.equal(noAddress.code, 1);
    assert.match(noAddress.stderr, /^error: federation_without_address: /);

    assert.equal(fake.requests.length, 0);
    assert.equal(existsSync(path.join(app, '.flwr')), false, 'nothing written for a refused configuration');
  });

  it('defaults: FEDGATE_LOGIN_URL / FEDGATE_API_KEY, else .fedgate/stack.json; none → login_service_not_configured', async (t) => {
    const viaEnv = await FakeLoginService.start(t, [tokens]);
    const fromEnv = await fedgate(['login', flowerApp(), '--no-qr'], { env: { FEDGATE_LOGIN_URL: viaEnv.url, FEDGATE_API_KEY: API_KEY } });
    assert.equal(fromEnv.code, 0, fromEnv.stderr);
    assert.equal(viaEnv.requests[0].key, API_KEY);

    const viaStack = await FakeLoginService.start(t, [tokens]);
    const repo = mkdtempSync(path.join(tmpdir(), 'fedgate-stack-'));
    dirs.push(repo);
    mkdirSync(path.join(repo, '.fedgate', 'tls'), { recursive: true });
    writeFileSync(path.join(repo, '.fedgate', 'tls', 'ca.pem'), '-----BEGIN CERTIFICATE-----\n');
    const stackFile = path.join(repo, '.fedgate', 'stack.json');
    writeFileSync(
      stackFile,
      JSON.stringify({
        services: { login: viaStack.url, token: 'https://127.0.0.1:2', authz: 'https://127.0.0.1:3', audit: 'https://127.0.0.1:4' },
        ca_cert: '.fedgate/tls/ca.pem',
        api_key: API_KEY,
        admin_api_key: 'operator-key',
        idp: { issuer: 'https://127.0.0.1:5', users: [] },
        kafka: { brokers: ['127.0.0.1:9092'], sasl: { mechanism: 'scram-sha-512', username: 'fedgate-operator', password: 'pw' } },
        openfga: { url: 'http://127.0.0.1:8080', store_id: '01HVMMBCMGZNT3SED4Z17ECXCA' },
        postgres: { url: 'postgresql://fedgate@127.0.0.1:5432/fedgate' },
        service_name: 'superlink',
        admin_flwr_aid: 'admin',
      }),
    );
    const fromStack = await fedgate(['login', flowerApp(), '--no-qr'], { env: { FEDGATE_STACK_FILE: stackFile } });
    assert.equal(fromStack.code, 0, fromStack.stderr);
    assert.equal(viaStack.requests[0].key, API_KEY);

    const none = await fedgate(['login', flowerApp(), '--no-qr']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /^error: login_service_not_configured: No login service configured: pass --login-url and --api-key/);
  });

  it('Ctrl-C while waiting: exit 1 with login_aborted, no credentials', async (t) => {
    const fake = await FakeLoginService.start(t, [pending]);
    const app = flowerApp();
    const child = spawn(process.execPath, [MAIN, 'login', app, ...fake.flags()], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FEDGATE_FLWR_VERSION: '1.23.0' } });
    let stdout = '';
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (stdout.includes('Please login')) child.kill('SIGINT');
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 1);
    assert.equal(stderr, lines('error: login_aborted: The login was cancelled.'));
    assert.equal(existsSync(credentialsOf(app, 'remote')), false);
  });

  it('fedgate login --help lists the options', async () => {
    const run = await fedgate(['login', '--help']);
    assert.equal(run.code, 0);
    for (const option of ['--login-url', '--api-key', '--ca-cert', '--scope', '--no-qr']) assert.ok(run.stdout.includes(option), option);
  });

  it('flwr 1.26+: writes FLWR_HOME/credentials.yaml for the SuperLink connection of config.toml, keeping other entries', async (t) => {
    const fake = await FakeLoginService.start(t);
    const home = mkdtempSync(path.join(tmpdir(), 'fedgate-login-home-'));
    dirs.push(home);
    const ca = path.join(home, 'ca.pem');
    writeFileSync(ca, 'not parsed by the login');
    writeFileSync(
      path.join(home, 'config.toml'),
      `[superlink]\ndefault = "fedgate"\n\n[superlink.fedgate]\naddress = "127.0.0.1:16093"\nroot-certificates = "${ca}"\n\n[superlink.plain]\naddress = "127.0.0.1:1"\ninsecure = true\n`,
    );
    // an entry of another SuperLink, as flwr wrote it: kept
    writeFileSync(path.join(home, 'credentials.yaml'), 'flower.account-auth.other:9093.authn-type: b2lkYw==\n');
    const run = await fedgate(['login', ...fake.flags()], { env: { FLWR_HOME: home, FEDGATE_FLWR_VERSION: '1.42.0' } });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, lines('Using SuperLink: fedgate (127.0.0.1:16093)', `Please login with your user credentials here: ${VERIFY_URL}`, '✅ Login successful.'));
    assertNoSecrets(run);
    const file = path.join(home, 'credentials.yaml');
    const b64 = (text: string) => Buffer.from(text).toString('base64');
    assert.equal(
      readFileSync(file, 'utf8'),
      lines(
        'flower.account-auth.127.0.0.1:16093.authn-type: b2lkYw==',
        `flower.account-auth.127.0.0.1:16093.oidc-access-token: ${b64(ACCESS)}`,
        `flower.account-auth.127.0.0.1:16093.oidc-refresh-token: ${b64(REFRESH)}`,
        'flower.account-auth.other:9093.authn-type: b2lkYw==',
      ),
      "PyYAML's safe_dump of flwr's FileCredentialStore: keys sorted, base64 values",
    );
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(existsSync(path.join(home, '.flwr')), false, 'no pyproject-form files');

    const insecure = await fedgate(['login', 'plain', ...fake.flags()], { env: { FLWR_HOME: home, FEDGATE_FLWR_VERSION: '1.42.0' } });
    assert.equal(insecure.code, 1);
    assert.match(insecure.stderr, /^error: insecure_federation: /);
    const unknown = await fedgate(['login', 'nope', ...fake.flags()], { env: { FLWR_HOME: home, FEDGATE_FLWR_VERSION: '1.42.0' } });
    assert.match(unknown.stderr, /^error: unknown_connection: SuperLink connection `nope` not found/);
    const missing = await fedgate(['login', ...fake.flags()], { env: { FLWR_HOME: path.join(home, 'none'), FEDGATE_FLWR_VERSION: '1.26.0' } });
    assert.match(missing.stderr, /^error: flower_config_not_found: /);
  });

  it("flwr 1.22: the credentials file's auth type key is `auth-type`, the one 1.22 reads", async (t) => {
    const fake = await FakeLoginService.start(t);
    const app = flowerApp();
    const run = await fedgate(['login', app, ...fake.flags()], { env: { FEDGATE_FLWR_VERSION: '1.22.0' } });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(readFileSync(credentialsOf(app, 'remote'), 'utf8'), JSON.stringify({ 'auth-type': 'oidc', 'flwr-oidc-access-token': ACCESS, 'flwr-oidc-refresh-token': REFRESH }, null, 4));
  });
});
