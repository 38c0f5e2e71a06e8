import { readFileSync } from 'node:fs';
import https from 'node:https';
import http from 'node:http';
import path from 'node:path';
import type { Command } from 'commander';
import { API_KEY_HEADER, API_PATHS, buildPath } from '@fedgate/contracts';
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

interface AuthzService {
  url: string;
  apiKey: string;
  ca?: string;
}

const env = (name: string) => (process.env[name] ? process.env[name] : undefined);

/** --authz-url / --api-key / --ca-cert, else FEDGATE_AUTHZ_URL / FEDGATE_API_KEY / FEDGATE_CA_CERT, else .fedgate/stack.json. */
function resolveService(opts: ConnectionOptions): AuthzService {
  const explicitUrl = opts.authzUrl ?? env('FEDGATE_AUTHZ_URL');
  const needStack = !explicitUrl || !(opts.apiKey ?? env('FEDGATE_API_KEY'));
  let stackCa: string | undefined;
  let stackUrl: string | undefined;
  let stackKey: string | undefined;
  if (needStack) {
    try {
      const file = findStackFile();
      const stack = readStackFile(file);
      stackUrl = stack.services.authz;
      stackKey = stack.api_key;
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
  return { url, apiKey: opts.apiKey ?? env('FEDGATE_API_KEY') ?? stackKey!, ca };
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
        headers: { [API_KEY_HEADER]: service.apiKey, accept: 'application/json', ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}) },
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
    .option('--api-key <key>', 'this client\'s Fedgate API key (default: FEDGATE_API_KEY, else the stack\'s)')
    .option('--ca-cert <file>', 'CA certificate to trust (default: FEDGATE_CA_CERT, else the stack\'s)');
}

/** `fedgate authz …`: run sharing, service grants, checks and the projection rebuild. */
export function registerAuthzCommands(program: Command): void {
  const authz = program.command('authz').description('authorization: share runs, grant service access, check, rebuild projections');

  withConnection(authz.command('share <run_id> <flwr_aid>').description('share a run with an account (as its owner or a service admin)'))
    .requiredOption('--as <flwr_aid>', 'the acting account')
    .option('--role <role>', 'viewer | operator', 'viewer')
    .action(async (runId: string, flwrAid: string, opts: ConnectionOptions & { as: string; role: string }) => {
      const answer = await call(resolveService(opts), 'PUT', buildPath(API_PATHS.authz.runMember, { run_id: runId, flwr_aid: flwrAid }), { role: opts.role, acting_flwr_aid: opts.as });
      console.log(`Shared run ${runId} with ${flwrAid} as ${opts.role}. consistency_token ${String(answer['consistency_token'])}`);
    });

  withConnection(authz.command('unshare <run_id> <flwr_aid>').description("take back an account's access to a run"))
    .requiredOption('--as <flwr_aid>', 'the acting account')
    .action(async (runId: string, flwrAid: string, opts: ConnectionOptions & { as: string }) => {
      const answer = await call(resolveService(opts), 'DELETE', buildPath(API_PATHS.authz.runMember, { run_id: runId, flwr_aid: flwrAid }), { acting_flwr_aid: opts.as });
      console.log(`Unshared run ${runId} from ${flwrAid}. consistency_token ${String(answer['consistency_token'])}`);
    });

  withConnection(authz.command('grant <flwr_aid>').description('grant an account access to a SuperLink service (as a service admin)'))
    .requiredOption('--as <flwr_aid>', 'the acting account (a service admin)')
    .option('--role <role>', 'member (has_access) | admin', 'member')
    .option('--service <name>', 'the service (default: the stack\'s service_name)')
    .action(async (flwrAid: string, opts: ConnectionOptions & { as: string; role: string; service?: string }) => {
      const service = opts.service ?? readStackFile().service_name;
      const answer = await call(resolveService(opts), 'PUT', buildPath(API_PATHS.authz.serviceMember, { service, flwr_aid: flwrAid }), { role: opts.role, acting_flwr_aid: opts.as });
      console.log(`Granted ${flwrAid} ${opts.role} on service:${service}. consistency_token ${String(answer['consistency_token'])}`);
    });

  withConnection(authz.command('revoke <flwr_aid>').description("remove every role of an account on a SuperLink service"))
    .requiredOption('--as <flwr_aid>', 'the acting account (a service admin)')
    .option('--service <name>', 'the service (default: the stack\'s service_name)')
    .action(async (flwrAid: string, opts: ConnectionOptions & { as: string; service?: string }) => {
      const service = opts.service ?? readStackFile().service_name;
      const answer = await call(resolveService(opts), 'DELETE', buildPath(API_PATHS.authz.serviceMember, { service, flwr_aid: flwrAid }), { acting_flwr_aid: opts.as });
      console.log(`Revoked ${flwrAid} from service:${service}. consistency_token ${String(answer['consistency_token'])}`);
    });

  withConnection(authz.command('check <flwr_aid> <relation> <object>').description('ask a decision, e.g. `check bob can_view run:42`; exit 0 allowed, 3 denied'))
    .option('--consistency-token <token>', 'see at least the write that answered this token')
    .action(async (flwrAid: string, relation: string, object: string, opts: ConnectionOptions & { consistencyToken?: string }) => {
      const answer = await call(resolveService(opts), 'POST', API_PATHS.authz.check, { flwr_aid: flwrAid, relation, object, consistency_token: opts.consistencyToken });
      console.log(`${answer['allowed'] ? 'allowed' : 'denied'} (decision ${String(answer['decision_id'])})`);
      if (!answer['allowed']) process.exitCode = 3;
    });

  withConnection(authz.command('rebuild').description('wipe the OpenFGA tuples and the read model, replay the ownership topic from the beginning'))
    .action(async (opts: ConnectionOptions) => {
      const answer = await call(resolveService(opts), 'POST', API_PATHS.authz.rebuild);
      console.log(`Rebuilt: generation ${String(answer['generation'])}, ${String(answer['replayed_events'])} events replayed, ${String(answer['tuples_deleted'])} tuples deleted, ${String(answer['duration_ms'])} ms.`);
    });
}
