import { readFileSync } from 'node:fs';
import https from 'node:https';
import http from 'node:http';
import path from 'node:path';
import type { Command } from 'commander';
import { API_KEY_HEADER, API_PATHS, buildPath } from '@fedgate/contracts';
import {
  flwrHome,
  flwrLoginForm,
  isFlwrConfigError,
  loadFlwrProject,
  readFlwrCredentialStore,
  readFlwrCredentials,
  readSuperlinkConnection,
  selectFederation,
} from '@fedgate/flwr-config';
import { findStackFile, readStackFile } from '@fedgate/stack';

/** A failure of an `authz` command: main prints `error: <code>: <message>` and exits 1. */
class AuthzCommandError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface ConnectionOptions {
  authzUrl?: string;
  apiKey?: string;
  caCert?: string;
}

/** Where the acting person's own credentials are: those `fedgate login` / `flwr login` wrote. */
interface PersonOptions extends ConnectionOptions {
  app: string;
  federation?: string;
  superlink?: string;
  flwrVersion?: string;
}

interface AuthzService {
  url: string;
  /** The service key sent as x-fedgate-key; none for a person's own call made with the token alone. */
  apiKey?: string;
  /** The acting person's access token, sent as `Authorization: Bearer`. */
  accessToken?: string;
  ca?: string;
}

const env = (name: string) => (process.env[name] ? process.env[name] : undefined);

/**
 * --authz-url / --api-key / --ca-cert, else FEDGATE_AUTHZ_URL / FEDGATE_ADMIN_API_KEY (an operator's
 * key) / FEDGATE_CA_CERT, else .fedgate/stack.json, whose operator key (admin_api_key) the operator
 * commands use; a person's own commands send a key only when --api-key names one.
 */
function resolveService(opts: ConnectionOptions, operator = true): AuthzService {
  const explicitUrl = opts.authzUrl ?? env('FEDGATE_AUTHZ_URL');
  const operatorKey = opts.apiKey ?? (operator ? env('FEDGATE_ADMIN_API_KEY') : undefined);
  const needStack = !explicitUrl || (operator && !operatorKey);
  let stackCa: string | undefined;
  let stackUrl: string | undefined;
  let stackKey: string | undefined;
  if (needStack) {
    try {
      const file = findStackFile();
      const stack = readStackFile(file);
      stackUrl = stack.services.authz;
      stackKey = stack.admin_api_key;
      stackCa = path.resolve(path.dirname(path.dirname(file)), stack.ca_cert);
    } catch (err) {
      throw new AuthzCommandError('authz_service_not_configured', `No authz service configured: pass --authz-url and --api-key, or start the local stack. (${(err as Error).message})`);
    }
  }
  const url = explicitUrl ?? stackUrl!;
  const caFile = opts.caCert ?? env('FEDGATE_CA_CERT') ?? (explicitUrl ? undefined : stackCa);
  let ca: string | undefined;
  if (caFile) {
    try {
      ca = readFileSync(caFile, 'utf8');
    } catch (err) {
      throw new AuthzCommandError('invalid_ca_cert', `Cannot read the CA certificate ${caFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`);
    }
  }
  return { url, apiKey: operatorKey ?? (operator ? stackKey : undefined), ca };
}

/**
 * For the calls a person makes: the access token that `fedgate login` or `flwr login` stored for
 * the federation of the Flower app (--app, --federation); a key only when one is given explicitly.
 */
function resolvePerson(opts: PersonOptions): AuthzService {
  const service = resolveService(opts, false);
  try {
    const { form } = flwrLoginForm({ app: opts.app, ...(opts.flwrVersion ? { flwrVersion: opts.flwrVersion } : {}) });
    if (opts.superlink !== undefined || form === 'config-toml') {
      // flwr 1.26+: the login of a SuperLink connection of FLWR_HOME/config.toml
      const connection = readSuperlinkConnection(opts.superlink);
      return { ...service, accessToken: readFlwrCredentialStore(flwrHome(), connection.address).accessToken };
    }
    const project = loadFlwrProject(opts.app);
    const federation = selectFederation(project, opts.federation);
    return { ...service, accessToken: readFlwrCredentials(project.appDir, federation.name).accessToken };
  } catch (err) {
    if (isFlwrConfigError(err)) throw new AuthzCommandError(err.code, err.message);
    throw err;
  }
}

/** One JSON call to authz-service; a Fedgate error body becomes an AuthzCommandError with its code. */
function call(service: AuthzService, method: string, pathname: string, body?: unknown): Promise<Record<string, unknown>> {
  const url = new URL(pathname, service.url);
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = transport.request(
      url,
      {
        method,
        ca: service.ca,
        timeout: 310_000,
        headers: {
          ...(service.apiKey ? { [API_KEY_HEADER]: service.apiKey } : {}),
          ...(service.accessToken ? { authorization: `Bearer ${service.accessToken}` } : {}),
          accept: 'application/json',
          ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          let json: Record<string, unknown> = {};
          try {
            json = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
          } catch {
            reject(new AuthzCommandError('unexpected_answer', `authz-service answered ${res.statusCode} with something that is not JSON`));
            return;
          }
          if ((res.statusCode ?? 500) >= 400) reject(new AuthzCommandError(String(json['error'] ?? 'failed'), String(json['error_description'] ?? `HTTP ${res.statusCode}`)));
          else resolve(json);
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer in time')));
    req.on('error', (err) => reject(new AuthzCommandError('authz_service_unreachable', `Cannot reach authz-service at ${url.origin}: ${err.message}`)));
    req.end(payload);
  });
}

function withConnection(command: Command): Command {
  return command
    .option('--authz-url <url>', 'authz-service base URL (default: FEDGATE_AUTHZ_URL, else .fedgate/stack.json)')
    .option('--api-key <key>', "a service key (check, rebuild: default FEDGATE_ADMIN_API_KEY, else the stack's operator key; a person's own calls send none unless given)")
    .option('--ca-cert <file>', 'CA certificate to trust (default: FEDGATE_CA_CERT, else the stack\'s)');
}

/** The acting person's own credentials: those of a Flower app's federation. */
function withPerson(command: Command): Command {
  return withConnection(command)
    .option('--app <dir>', 'the Flower app whose login to use (its .flwr/.credentials, written by `fedgate login` or `flwr login`)', '.')
    .option('--federation <name>', "the federation logged in to (default: the app's default federation)")
    .option('--superlink <name>', 'flwr 1.26+: the SuperLink connection of FLWR_HOME/config.toml logged in to (default: its `default`)')
    .option('--flwr-version <version>', 'the flwr release whose login to use (default: $FEDGATE_FLWR_VERSION, else `flwr --version` on PATH)');
}

/** `fedgate authz …`: run sharing, service membership, checks and the projection rebuild. */
export function registerAuthzCommands(program: Command): void {
  const authz = program
    .command('authz')
    .description('authorization: share runs and manage service members as yourself (your own login), check, rebuild projections (operator key)');

  const RUN_SERVICE = ["--run-service <name>", "the run's service, when the run id exists in several (run ids are unique per service)"] as const;

  withPerson(authz.command('share <run_id> <flwr_aid>').description('share a run with an account (you act: as its owner or a service admin)'))
    .option('--role <role>', 'viewer | operator', 'viewer')
    .option(...RUN_SERVICE)
    .action(async (runId: string, flwrAid: string, opts: PersonOptions & { role: string; runService?: string }) => {
      const answer = await call(resolvePerson(opts), 'PUT', buildPath(API_PATHS.authz.runMember, { run_id: runId, flwr_aid: flwrAid }), { role: opts.role, service: opts.runService });
      console.log(`Shared run ${runId} with ${flwrAid} as ${opts.role}. consistency_token ${String(answer['consistency_token'])}`);
    });

  withPerson(authz.command('unshare <run_id> <flwr_aid>').description("take back an account's access to a run (you act)"))
    .option(...RUN_SERVICE)
    .action(async (runId: string, flwrAid: string, opts: PersonOptions & { runService?: string }) => {
      const answer = await call(resolvePerson(opts), 'DELETE', buildPath(API_PATHS.authz.runMember, { run_id: runId, flwr_aid: flwrAid }), opts.runService ? { service: opts.runService } : undefined);
      console.log(`Unshared run ${runId} from ${flwrAid}. consistency_token ${String(answer['consistency_token'])}`);
    });

  withPerson(authz.command('grant <flwr_aid>').description('grant an account access to a SuperLink service (you act: a service admin)'))
    .option('--role <role>', 'member (has_access) | admin', 'member')
    .option('--service <name>', "the service (default: the stack's service_name)")
    .action(async (flwrAid: string, opts: PersonOptions & { role: string; service?: string }) => {
      const service = opts.service ?? readStackFile().service_name;
      const answer = await call(resolvePerson(opts), 'PUT', buildPath(API_PATHS.authz.serviceMember, { service, flwr_aid: flwrAid }), { role: opts.role });
      console.log(`Granted ${flwrAid} ${opts.role} on service:${service}. consistency_token ${String(answer['consistency_token'])}`);
    });

  withPerson(authz.command('revoke <flwr_aid>').description('remove every role of an account on a SuperLink service (you act: a service admin)'))
    .option('--service <name>', "the service (default: the stack's service_name)")
    .action(async (flwrAid: string, opts: PersonOptions & { service?: string }) => {
      const service = opts.service ?? readStackFile().service_name;
      const answer = await call(resolvePerson(opts), 'DELETE', buildPath(API_PATHS.authz.serviceMember, { service, flwr_aid: flwrAid }));
      console.log(`Revoked ${flwrAid} from service:${service}. consistency_token ${String(answer['consistency_token'])}`);
    });

  withPerson(authz.command('members').description("who holds which role: a service's members (its admins may ask), or with --run a run's (its owner or a service admin)"))
    .option('--service <name>', "the service (default: the stack's service_name); with --run, the run's service when its id is in several")
    .option('--run <run_id>', "a run's members instead of the service's")
    .action(async (opts: PersonOptions & { service?: string; run?: string }) => {
      const pathname = opts.run
        ? buildPath(API_PATHS.authz.runMembers, { run_id: opts.run }) + (opts.service ? `?service=${encodeURIComponent(opts.service)}` : '')
        : buildPath(API_PATHS.authz.serviceMembers, { service: opts.service ?? readStackFile().service_name });
      const answer = await call(resolvePerson(opts), 'GET', pathname);
      for (const member of answer['members'] as Array<{ flwr_aid: string; role: string }>) console.log(`${member.role}\t${member.flwr_aid}`);
    });

  withConnection(authz.command('check <flwr_aid> <relation> <object>').description('ask a decision, e.g. `check bob can_view run:42`; exit 0 allowed, 3 denied'))
    .option('--consistency-token <token>', 'see at least the write that answered this token')
    .action(async (flwrAid: string, relation: string, object: string, opts: ConnectionOptions & { consistencyToken?: string }) => {
      const answer = await call(resolveService(opts), 'POST', API_PATHS.authz.check, { flwr_aid: flwrAid, relation, object, consistency_token: opts.consistencyToken });
      console.log(`${answer['allowed'] ? 'allowed' : 'denied'} (decision ${String(answer['decision_id'])})`);
      if (!answer['allowed']) process.exitCode = 3;
    });

  withConnection(authz.command('rebuild').description('wipe the OpenFGA tuples and the read model, replay the ownership topic from the beginning (an authz-admin key)'))
    .action(async (opts: ConnectionOptions) => {
      const answer = await call(resolveService(opts), 'POST', API_PATHS.authz.rebuild);
      console.log(`Rebuilt: generation ${String(answer['generation'])}, ${String(answer['replayed_events'])} events replayed, ${String(answer['tuples_deleted'])} tuples deleted, ${String(answer['duration_ms'])} ms.`);
    });
}
