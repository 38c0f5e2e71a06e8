import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import type { Command } from 'commander';
import type { AuditEvent, IntegrityResponse } from '@fedgate/contracts';
import { AuditClient, parseCheckpointPublicKey, parseTrustedCheckpoints, verifyExportedChain, type AuditQueryParams } from '@fedgate/audit';
import { findStackFile, readStackFile } from '@fedgate/stack';

class AuditCommandError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

interface ConnectionOptions {
  url?: string;
  apiKey?: string;
  caCert?: string;
}

interface FilterOptions {
  actor?: string;
  type?: string;
  outcome?: string;
  object?: string;
  since?: string;
  until?: string;
}

const env = (name: string): string | undefined => process.env[name] || undefined;

/** URL, key and CA: flags, then FEDGATE_AUDIT_URL / FEDGATE_ADMIN_API_KEY / FEDGATE_CA_CERT, then .fedgate/stack.json. */
function clientFrom(opts: ConnectionOptions): AuditClient {
  const urlOption = opts.url ?? env('FEDGATE_AUDIT_URL');
  let stackFile: string | undefined;
  const stack = () => {
    try {
      stackFile = findStackFile();
      return readStackFile(stackFile);
    } catch (err) {
      throw new AuditCommandError('audit_service_not_configured', `No audit service configured: pass --url and --api-key, set FEDGATE_AUDIT_URL and FEDGATE_ADMIN_API_KEY, or start the local stack. (${(err as Error).message})`);
    }
  };
  const baseUrl = urlOption ?? stack().services.audit;
  const apiKey = opts.apiKey ?? env('FEDGATE_ADMIN_API_KEY') ?? stack().admin_api_key;
  let caFile = opts.caCert ?? env('FEDGATE_CA_CERT');
  if (caFile === undefined && urlOption === undefined && stackFile !== undefined) caFile = path.resolve(path.dirname(path.dirname(stackFile)), stack().ca_cert);
  let ca: string | undefined;
  if (caFile !== undefined) {
    try {
      ca = readFileSync(caFile, 'utf8');
    } catch (err) {
      throw new AuditCommandError('invalid_ca_cert', `Cannot read the CA certificate ${caFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`);
    }
  }
  return new AuditClient({ baseUrl, apiKey, ...(ca ? { ca } : {}) });
}

function filtersOf(opts: FilterOptions): AuditQueryParams {
  return { actor: opts.actor, type: opts.type, outcome: opts.outcome, object: opts.object, since: opts.since, until: opts.until };
}

function withConnectionAndFilters(command: Command): Command {
  return command
    .option('--actor <flwr_aid>', 'only events of this account')
    .option('--type <event-type>', 'only this event type, e.g. fedgate.authz.decision.v1')
    .option('--outcome <outcome>', 'success | failure | denied')
    .option('--object <object>', 'only events about this object, e.g. run:42')
    .option('--since <time>', 'events at or after this RFC 3339 time')
    .option('--until <time>', 'events before this RFC 3339 time')
    .option('--url <url>', 'audit-service base URL (default: $FEDGATE_AUDIT_URL, else .fedgate/stack.json)')
    .option('--api-key <key>', 'an audit-reader key (default: $FEDGATE_ADMIN_API_KEY, else admin_api_key of .fedgate/stack.json)')
    .option('--ca-cert <file>', 'CA certificate to trust (default: $FEDGATE_CA_CERT, else the stack CA)');
}

const COLUMNS: Array<[string, (e: AuditEvent) => string]> = [
  ['SEQ', (e) => String(e.seq)],
  ['TIME', (e) => e.time],
  ['TYPE', (e) => e.type.replace(/^fedgate\./, '')],
  ['ACTOR', (e) => (e.actor ? (e.actor.account_name ? `${e.actor.account_name} (${e.actor.flwr_aid})` : e.actor.flwr_aid) : '-')],
  ['OBJECT', (e) => e.object ?? '-'],
  ['ACTION', (e) => e.action],
  ['OUTCOME', (e) => e.outcome],
];

/** A plain text table; control characters in values are shown escaped (terminal safety). */
function table(events: readonly AuditEvent[], header = true): string {
  const safe = (text: string) => text.replace(/[\p{Cc}]/gu, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  const rows = events.map((e) => COLUMNS.map(([, get]) => safe(get(e))));
  const all = header ? [COLUMNS.map(([name]) => name), ...rows] : rows;
  const widths = COLUMNS.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  return all.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n');
}

function describeIntegrity(result: IntegrityResponse, where: string): string {
  const checkpoints = result.checkpoints ? `, ${result.checkpoints.checked} signed checkpoint(s)${result.checkpoints.latest ? ` (latest at seq ${result.checkpoints.latest.seq})` : ''}` : '';
  const trusted = result.trusted ? `, extends ${result.trusted.checked} trusted checkpoint(s)${result.trusted.latest_seq ? ` (latest at seq ${result.trusted.latest_seq})` : ''}` : '';
  if (result.ok) return `${where}: chain intact — ${result.checked} events verified${result.head ? `, head seq ${result.head.seq} ${result.head.hash}` : ''}${checkpoints}${trusted}`;
  const truncated = result.truncated_at ? `, truncated at seq ${result.truncated_at}` : '';
  return `${where}: CHAIN BROKEN — first bad seq ${result.first_bad_seq} (${result.problem}${truncated}); ${result.checked} events verified before it${checkpoints}`;
}

/** Said whenever verify had no checkpoint of the auditor's own to hold the log to. */
const INTERNAL_ONLY =
  'note: no --trusted-checkpoint given, so this proves only internal consistency: the events hash to the chain and the served checkpoints sign it. ' +
  'A log truncated or rewritten together with everything the service serves would pass; save checkpoints with `fedgate audit checkpoints --out FILE` and pass one later.';

/** `fedgate audit …`: read and verify the audit log. */
export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description('query, follow, export and verify the audit log');

  withConnectionAndFilters(audit.command('query').description('events newest first, one page (use --cursor for the next)'))
    .option('--limit <n>', 'events per page (1-1000)', '50')
    .option('--cursor <cursor>', 'next_cursor of a previous page')
    .option('--json', 'print the API answer as JSON')
    .action(async (opts: FilterOptions & ConnectionOptions & { limit: string; cursor?: string; json?: boolean }) => {
      const page = await clientFrom(opts).events({ ...filtersOf(opts), limit: opts.limit, cursor: opts.cursor });
      if (opts.json) {
        console.log(JSON.stringify(page, null, 2));
        return;
      }
      console.log(page.events.length === 0 ? 'no events match' : table(page.events));
      if (page.next_cursor) console.error(`more: --cursor ${page.next_cursor}`);
    });

  withConnectionAndFilters(audit.command('tail').description('follow new events as they are stored (Ctrl-C stops)'))
    .option('--from-seq <seq>', 'start after this seq instead of at the current head')
    .option('--interval <ms>', 'poll interval', '1000')
    .option('--json', 'one JSON event per line')
    .action(async (opts: FilterOptions & ConnectionOptions & { fromSeq?: string; interval: string; json?: boolean }) => {
      const client = clientFrom(opts);
      let after = opts.fromSeq !== undefined ? Number(opts.fromSeq) : ((await client.events({ limit: 1 })).events[0]?.seq ?? 0);
      console.error(`following events after seq ${after} (Ctrl-C stops)`);
      let header = !opts.json;
      for (;;) {
        const { events } = await client.events({ ...filtersOf(opts), after_seq: after, limit: 1000 });
        if (events.length > 0) {
          console.log(opts.json ? events.map((e) => JSON.stringify(e)).join('\n') : table(events, header));
          header = false;
          after = events.at(-1)!.seq;
        }
        if (events.length < 1000) await new Promise((r) => setTimeout(r, Number(opts.interval)));
      }
    });

  withConnectionAndFilters(audit.command('export').description('every matching event as NDJSON, oldest first'))
    .option('--output <file>', 'write to this file (mode 0600) instead of stdout')
    .action(async (opts: FilterOptions & ConnectionOptions & { output?: string }) => {
      const out = opts.output ? createWriteStream(opts.output, { mode: 0o600 }) : process.stdout;
      let count = 0;
      for await (const event of clientFrom(opts).export(filtersOf(opts))) {
        if (!out.write(`${JSON.stringify(event)}\n`)) await once(out, 'drain');
        count += 1;
      }
      if (opts.output) {
        await new Promise<void>((resolve, reject) => (out as ReturnType<typeof createWriteStream>).end((err?: Error | null) => (err ? reject(err) : resolve())));
        console.error(`exported ${count} events to ${opts.output}`);
      }
    });

  audit
    .command('checkpoints')
    .description('the signed checkpoints (kept outside the database), saved for a later `verify --trusted-checkpoint`')
    .option('--out <file>', 'write them to this file (mode 0600) instead of stdout')
    .option('--url <url>', 'audit-service base URL (default: $FEDGATE_AUDIT_URL, else .fedgate/stack.json)')
    .option('--api-key <key>', 'an audit-reader key (default: $FEDGATE_API_KEY, else api_key of .fedgate/stack.json)')
    .option('--ca-cert <file>', 'CA certificate to trust (default: $FEDGATE_CA_CERT, else the stack CA)')
    .action(async (opts: ConnectionOptions & { out?: string }) => {
      const answer = await clientFrom(opts).checkpoints();
      const text = `${JSON.stringify(answer, null, 2)}\n`;
      if (!opts.out) {
        process.stdout.write(text);
        return;
      }
      writeFileSync(opts.out, text, { mode: 0o600 });
      const last = answer.checkpoints.at(-1);
      console.error(`saved ${answer.checkpoints.length} checkpoint(s) to ${opts.out}${last ? `; the latest: seq ${last.seq}, head ${last.head_hash}` : ''}`);
    });

  audit
    .command('verify')
    .description('re-hash the whole exported chain here and check the signed checkpoints; exit 1 if it is broken')
    .option('--public-key <file>', "pin the service's checkpoint key (SPKI PEM) instead of trusting the one it serves")
    .option('--trusted-checkpoint <file|seq:hash>', 'a checkpoint you kept from earlier (a file of `fedgate audit checkpoints --out`, or seq:head_hash): the log must still extend it')
    .option('--url <url>', 'audit-service base URL (default: $FEDGATE_AUDIT_URL, else .fedgate/stack.json)')
    .option('--api-key <key>', 'an audit-reader key (default: $FEDGATE_ADMIN_API_KEY, else admin_api_key of .fedgate/stack.json)')
    .option('--ca-cert <file>', 'CA certificate to trust (default: $FEDGATE_CA_CERT, else the stack CA)')
    .option('--json', 'print both verdicts as JSON')
    .action(async (opts: ConnectionOptions & { publicKey?: string; trustedCheckpoint?: string; json?: boolean }) => {
      const trusted = opts.trustedCheckpoint ? parseTrustedCheckpoints(opts.trustedCheckpoint) : [];
      const client = clientFrom(opts);
      const pinned = opts.publicKey ? parseCheckpointPublicKey(readFileSync(opts.publicKey, 'utf8')) : undefined;
      const local = await verifyExportedChain(client, pinned, trusted);
      const service = await client.integrity();
      const scope = trusted.length > 0 ? 'extends_trusted_checkpoint' : 'internal_consistency_only';
      if (opts.json) {
        const strip = ({ public_key: _k, ...rest }: IntegrityResponse) => rest;
        console.log(JSON.stringify({ proves: scope, local: strip(local), service: strip(service) }, null, 2));
      } else {
        console.log(describeIntegrity(local, 'verified here'));
        console.log(describeIntegrity(service, 'audit service'));
      }
      if (trusted.length === 0) console.error(INTERNAL_ONLY);
      if (!local.ok || !service.ok) process.exitCode = 1;
    });
}
