// docker-compose.yml must run the same stack as the native scripts. No Docker engine is
// needed: the file is parsed and interpolated here exactly as Compose would (infra/stack.env
// plus dummy secrets), then compared with the sources of truth of the native stack —
// infra/stack.env, scripts/infra/*.sh, infra/kafka/server.properties and the services'
// config schemas — so that changing one of them without the compose file fails here.
// When the `docker compose` plugin is installed, `docker compose config` checks it too.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { KAFKA_SCRAM_USERS, kafkaPasswordVariable } from '@fedgate/contracts';
import { devIdentityProviderOptionsFromEnv } from '@fedgate/dev-idp';
import * as platform from '@fedgate/platform';
import { SERVICE_CONFIG_SCHEMAS } from '@fedgate/service-config';
import { parseEnvFile, repoRoot } from '@fedgate/testing';

const root = repoRoot();
const COMPOSE_FILE = path.join(root, 'docker-compose.yml');

/** Where the compose file keeps what natively lives in .fedgate ($STATE). */
const CONTAINER_STATE = '/fedgate-state';
/** Stand-in for the native $STATE when evaluating the scripts' assignments. */
const NATIVE_STATE = '/native-state';

/** The four Fedgate services: compose service = Nx app, and the stack.env port variable. */
const APP_SERVICES = [
  { name: 'login-service', portVar: 'LOGIN_PORT' },
  { name: 'token-service', portVar: 'TOKEN_PORT' },
  { name: 'authz-service', portVar: 'AUTHZ_PORT' },
  { name: 'audit-service', portVar: 'AUDIT_PORT' },
] as const;
const ONE_SHOT = ['tls-init', 'migrate', 'openfga-migrate', 'superlink-init', 'kafka-acls'];
const FEDGATE_IMAGE_SERVICES = ['tls-init', 'migrate', 'kafka-acls', 'dev-idp', ...APP_SERVICES.map((s) => s.name)];
const ALL_SERVICES = ['postgres', 'kafka', 'openfga-migrate', 'openfga', ...FEDGATE_IMAGE_SERVICES];

/** Which host each service-env.sh URL points at, natively 127.0.0.1. */
const CONTAINER_HOST_OF: Record<string, string> = {
  FEDGATE_DATABASE_URL: 'postgres',
  FEDGATE_KAFKA_BROKERS: 'kafka',
  FEDGATE_OPENFGA_URL: 'openfga',
  FEDGATE_OIDC_ISSUER: 'dev-idp',
};
/** The stack.env port inside each service-env.sh URL. */
const PORT_OF_URL: Record<string, string> = {
  FEDGATE_DATABASE_URL: 'PG_PORT',
  FEDGATE_KAFKA_BROKERS: 'KAFKA_PORT',
  FEDGATE_OPENFGA_URL: 'OPENFGA_HTTP_PORT',
  FEDGATE_OIDC_ISSUER: 'IDP_PORT',
};
/** What a config key makes a service wait for, and how. */
const DEPENDENCY_OF_CONFIG_KEY: Record<string, { service: string; condition: string }> = {
  FEDGATE_TLS_CERT: { service: 'tls-init', condition: 'service_completed_successfully' },
  FEDGATE_DATABASE_URL: { service: 'migrate', condition: 'service_completed_successfully' },
  FEDGATE_KAFKA_BROKERS: { service: 'kafka', condition: 'service_healthy' },
  // a service connects as its principal once the catalogue's ACLs are applied
  FEDGATE_KAFKA_USERNAME: { service: 'kafka-acls', condition: 'service_completed_successfully' },
  FEDGATE_OIDC_ISSUER: { service: 'dev-idp', condition: 'service_healthy' },
  FEDGATE_OPENFGA_URL: { service: 'openfga', condition: 'service_healthy' },
};
/** apache/kafka launcher variables: read by the start scripts, not turned into broker properties. */
const KAFKA_LAUNCHER_VARIABLES = new Set(['KAFKA_HEAP_OPTS', 'KAFKA_OPTS', 'KAFKA_JVM_PERFORMANCE_OPTS', 'KAFKA_GC_LOG_OPTS', 'KAFKA_JMX_OPTS', 'KAFKA_LOG4J_OPTS']);

// ---------------------------------------------------------------------------------------
// Shapes and helpers

type Scalar = string | number | boolean | null;
type Vars = Record<string, string>;

interface ComposeService {
  image?: string;
  build?: string | { context?: string; dockerfile?: string; target?: string };
  command?: string | string[];
  user?: string;
  restart?: string;
  environment?: Record<string, Scalar> | string[];
  env_file?: unknown;
  ports?: Array<string | number | { target: number; published?: string | number; host_ip?: string }>;
  volumes?: Array<string | { type?: string; source?: string; target: string; read_only?: boolean }>;
  depends_on?: string[] | Record<string, { condition?: string; required?: boolean }>;
  healthcheck?: { test?: string | string[]; disable?: boolean };
  cpu_shares?: number;
}
interface ComposeFile {
  name?: string;
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

function read(relative: string): string {
  return readFileSync(path.join(root, relative), 'utf8');
}

/**
 * Compose's (and, for these forms, the shell's) variable substitution: $$, $VAR, ${VAR},
 * ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, ${VAR:+alt}, ${VAR+alt}.
 * Unknown variables and failed `?` checks are collected in `problems` instead of silently
 * becoming empty strings (Compose would only warn for the former).
 */
function interpolate(input: string, vars: Vars, problems: string[], where: string): string {
  return input.replace(/\$\$|\$\{([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (match: string, braced?: string, bare?: string) => {
    if (match === '$$') return '$';
    const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([\s\S]*))?$/.exec(braced ?? bare ?? '');
    if (!m) {
      problems.push(`${where}: invalid substitution ${match}`);
      return '';
    }
    const [, name, op, arg = ''] = m as unknown as [string, string, string | undefined, string | undefined];
    const value = vars[name];
    const set = value !== undefined;
    const nonEmpty = set && value !== '';
    switch (op) {
      case undefined:
        if (!set) problems.push(`${where}: \${${name}} is not set`);
        return value ?? '';
      case ':-':
        return nonEmpty ? value : arg;
      case '-':
        return set ? value : arg;
      case ':?':
      case '?':
        if (op === ':?' ? !nonEmpty : !set) problems.push(`${where}: ${name} required (${arg})`);
        return value ?? '';
      case ':+':
        return nonEmpty ? arg : '';
      default:
        return set ? arg : '';
    }
  });
}

/** Interpolates every string value (not keys), like Compose does after loading the YAML. */
function interpolateTree(node: unknown, vars: Vars, problems: string[], where = ''): unknown {
  if (typeof node === 'string') return interpolate(node, vars, problems, where);
  if (Array.isArray(node)) return node.map((item, i) => interpolateTree(item, vars, problems, `${where}[${i}]`));
  if (node !== null && typeof node === 'object') {
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, interpolateTree(v, vars, problems, where ? `${where}.${k}` : k)]));
  }
  return node;
}

function environmentOf(service: ComposeService): Vars {
  const env: Vars = {};
  const raw = service.environment ?? {};
  const entries: Array<[string, Scalar]> = Array.isArray(raw)
    ? raw.map((item) => {
        const i = item.indexOf('=');
        return i < 0 ? [item, null] : [item.slice(0, i), item.slice(i + 1)];
      })
    : Object.entries(raw);
  for (const [name, value] of entries) {
    // A value-less variable would be taken from the operator's shell: never intended here.
    assert.ok(value !== null, `environment variable ${name} has no value`);
    env[name] = String(value);
  }
  return env;
}

interface PortMapping {
  hostIp: string;
  published: number;
  target: number;
}
function portsOf(service: ComposeService): PortMapping[] {
  return (service.ports ?? []).map((port) => {
    if (typeof port === 'object') return { hostIp: port.host_ip ?? '', published: Number(port.published), target: Number(port.target) };
    const parts = String(port).replace(/\/(tcp|udp)$/, '').split(':');
    const target = Number(parts.pop());
    const published = Number(parts.pop());
    return { hostIp: parts.join(':'), published, target };
  });
}

interface Mount {
  source: string;
  target: string;
  readOnly: boolean;
}
function mountsOf(service: ComposeService): Mount[] {
  return (service.volumes ?? []).map((volume) => {
    if (typeof volume === 'object') return { source: volume.source ?? '', target: volume.target, readOnly: volume.read_only === true };
    const [source = '', target = '', mode = ''] = volume.split(':');
    return { source, target, readOnly: mode.split(',').includes('ro') };
  });
}

function dependsOf(service: ComposeService): Record<string, string | undefined> {
  const deps = service.depends_on ?? {};
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((d) => [d, undefined]));
  return Object.fromEntries(Object.entries(deps).map(([name, spec]) => [name, spec?.condition]));
}

function commandOf(service: ComposeService): string[] {
  const command = service.command ?? [];
  return Array.isArray(command) ? command.map(String) : command.split(/\s+/).filter(Boolean);
}

function healthTestOf(service: ComposeService): string {
  const test = service.healthcheck?.test;
  return Array.isArray(test) ? test.join(' ') : (test ?? '');
}

/** Kafka's apache/kafka image turns KAFKA_A_B into a.b (__ → _, ___ → -), exactly this way. */
function kafkaPropertyName(envName: string): string {
  return envName
    .slice('KAFKA_'.length)
    .replace(/[^_]_[^_]/g, (s) => s.replace('_', '.'))
    .replaceAll('___', '-')
    .replaceAll('__', '_')
    .toLowerCase();
}

/** "NAME://host:port,..." → { NAME: { host, port } }. */
function parseListeners(value: string): Record<string, { host: string; port: string }> {
  return Object.fromEntries(
    value.split(',').map((entry) => {
      const m = /^([A-Za-z_][A-Za-z0-9_]*):\/\/(.*):(\d+)$/.exec(entry.trim());
      assert.ok(m, `listener ${entry} is not NAME://host:port`);
      return [m[1]!, { host: m[2]!, port: m[3]! }];
    }),
  );
}

/** The port in a URL or host:port list, as a string. */
function portIn(value: string): string {
  const m = /^(?:[a-z]+:\/\/)?(?:[^@/]*@)?[^:/,]+:(\d+)(?:[/?,]|$)/.exec(value);
  assert.ok(m, `no port in ${value}`);
  return m[1]!;
}

/** Dummy secret values; the names come from lib.sh's ensure_secrets so new secrets are picked up. */
function secretNames(): string[] {
  const lib = read('scripts/infra/lib.sh');
  const m = /for key in ([A-Z0-9_ ]+); do/.exec(lib);
  assert.ok(m, 'ensure_secrets key list not found in scripts/infra/lib.sh');
  // plus the secrets derived from others (e.g. the API key's hash)
  const derived = [...lib.matchAll(/grep -q "\^([A-Z0-9_]+)=" "\$SECRETS_FILE"/g)].map((d) => d[1]!);
  // the keys' hashes: `for key in A B C; do grep -q "^${key}_SHA256=" ...`
  const hashed = [...lib.matchAll(/for key in ([A-Z0-9_ ]+); do\s+grep -q "\^\$\{key\}_SHA256="/g)].flatMap((h) => h[1]!.trim().split(/\s+/).map((k) => `${k}_SHA256`));
  return [...new Set([...m[1]!.trim().split(/\s+/), ...derived, ...hashed])];
}

// ---------------------------------------------------------------------------------------
// Loading (memoised, so a broken file fails every test with the same message)

interface Loaded {
  text: string;
  raw: ComposeFile;
  compose: ComposeFile;
  problems: string[];
  stackEnv: Vars;
  secrets: Vars;
  vars: Vars;
}
let cache: Loaded | undefined;

function load(): Loaded {
  if (cache) return cache;
  const text = readFileSync(COMPOSE_FILE, 'utf8');
  // merge: Compose resolves YAML 1.1 `<<` merge keys; without it they would stay literal keys.
  const doc = parseDocument(text, { merge: true, uniqueKeys: true, prettyErrors: true });
  assert.deepEqual(doc.errors.map((e) => e.message), [], 'docker-compose.yml is not valid YAML');
  assert.deepEqual(doc.warnings.map((e) => e.message), [], 'docker-compose.yml has YAML warnings');
  const raw = doc.toJS({ maxAliasCount: -1 }) as ComposeFile;
  assert.ok(raw && typeof raw === 'object' && raw.services && typeof raw.services === 'object', 'no services mapping');
  const stackEnv = parseEnvFile(read('infra/stack.env'));
  // a hash stands in as 64 hex digits (FEDGATE_API_KEYS accepts nothing else)
  const dummy = (name: string) => (name.endsWith('_SHA256') ? createHash('sha256').update(name).digest('hex') : `${name.toLowerCase().replace(/[^a-z0-9]/g, '')}0dummy`);
  const secrets = Object.fromEntries(secretNames().map((name) => [name, dummy(name)]));
  const vars = { ...stackEnv, ...secrets };
  const problems: string[] = [];
  const compose = interpolateTree(raw, vars, problems) as ComposeFile;
  cache = { text, raw, compose, problems, stackEnv, secrets, vars };
  return cache;
}

function service(name: string): ComposeService {
  const found = load().compose.services[name];
  assert.ok(found, `service ${name} is missing`);
  return found;
}

/** service-env.sh's top-level assignments, evaluated; returns what it exports. */
function nativeServiceEnv(vars: Vars): Vars {
  const scope: Vars = { ...vars, STATE: NATIVE_STATE };
  const exported: Vars = {};
  const problems: string[] = [];
  for (const line of read('scripts/infra/service-env.sh').split('\n')) {
    const m = /^(export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    const value = interpolate(m[3]!.trim().replace(/^"(.*)"$/, '$1'), scope, problems, `service-env.sh ${m[2]}`);
    scope[m[2]!] = value;
    if (m[1]) exported[m[2]!] = value;
  }
  assert.deepEqual(problems, []);
  assert.ok(Object.keys(exported).length > 0, 'no `export NAME=` lines found in scripts/infra/service-env.sh');
  return exported;
}

/** service-env.sh's dev_idp_users_json, evaluated (the printf format with its arguments). */
function nativeDevIdpUsersJson(vars: Vars): string {
  const m = /dev_idp_users_json\(\)\s*\{\s*printf\s+'([^']*)'\s*\\?\s*((?:"\$[A-Za-z_][A-Za-z0-9_]*"\s*)+)/.exec(read('scripts/infra/service-env.sh'));
  assert.ok(m, 'dev_idp_users_json not found in scripts/infra/service-env.sh');
  const args = [...m[2]!.matchAll(/"\$([A-Za-z_][A-Za-z0-9_]*)"/g)].map((a) => vars[a[1]!] ?? '');
  return m[1]!.replace(/%s/g, () => args.shift() ?? '');
}

/** openfga.sh's fga_env heredoc, evaluated: the exact OPENFGA_* settings natively exported. */
function nativeOpenFgaEnv(vars: Vars): Vars {
  const m = /fga_env\(\)\s*\{\s*cat <<EOF\n([\s\S]*?)\nEOF\n/.exec(read('scripts/infra/openfga.sh'));
  assert.ok(m, 'fga_env heredoc not found in scripts/infra/openfga.sh');
  const problems: string[] = [];
  const env: Vars = {};
  for (const line of m[1]!.split('\n')) {
    const kv = /^(OPENFGA_[A-Z0-9_]+)=(.*)$/.exec(line);
    assert.ok(kv, `unexpected line in fga_env: ${line}`);
    env[kv[1]!] = interpolate(kv[2]!, vars, problems, `fga_env ${kv[1]}`);
  }
  assert.deepEqual(problems, []);
  return env;
}

/** infra/kafka/server.properties rendered as kafka.sh does (log.dirs left symbolic). */
function nativeKafkaProperties(vars: Vars): Vars {
  const rendered = read('infra/kafka/server.properties').replace(/@([A-Z_]+)@/g, (whole, name: string) =>
    name === 'LOG_DIRS' ? '<log-dirs>' : (vars[name] ?? whole),
  );
  assert.doesNotMatch(rendered, /@[A-Z_]+@/, 'unrendered placeholder in server.properties');
  const props: Vars = {};
  for (const line of rendered.split('\n')) {
    const m = /^\s*([^#!\s][^=]*?)\s*=\s*(.*?)\s*$/.exec(line);
    if (m) props[m[1]!] = m[2]!;
  }
  return props;
}

/** postgres.sh's fedgate.conf settings (write_conf heredoc) as name → value. */
function nativePostgresSettings(): Vars {
  const m = /write_conf\(\)\s*\{[\s\S]*?<<EOF\n([\s\S]*?)\nEOF\n/.exec(read('scripts/infra/postgres.sh'));
  assert.ok(m, 'write_conf heredoc not found in scripts/infra/postgres.sh');
  const settings: Vars = {};
  for (const line of m[1]!.split('\n')) {
    const kv = /^([a-z_]+)\s*=\s*(.*)$/.exec(line);
    if (kv) settings[kv[1]!] = kv[2]!.replace(/^'(.*)'$/, '$1');
  }
  return settings;
}

/** The FEDGATE_* config schema a service validates at start: serviceConfigSchema + its app schema's fragments. */
function configSchemaOf(app: string): { schema: z.ZodObject; literalKeys: string[] } {
  const schema = (SERVICE_CONFIG_SCHEMAS as Record<string, z.ZodObject>)[app];
  assert.ok(schema, `no config schema for ${app} in @fedgate/service-config`);
  return { schema, literalKeys: [] };
}

// ---------------------------------------------------------------------------------------

describe('docker-compose.yml', () => {
  it('parses as YAML (with merge keys) and interpolates with stack.env + secrets.env, every variable known', () => {
    const { problems, raw } = load();
    assert.deepEqual(problems, [], 'unresolved ${VAR} references');
    // Merge keys resolved: no literal `<<` left anywhere in services.
    assert.doesNotMatch(JSON.stringify(raw.services), /"<<"/);
  });

  it('documents how to start it and requires every secret with ${VAR:?message}', () => {
    const { text, stackEnv } = load();
    assert.ok(
      text.includes('docker compose --env-file infra/stack.env --env-file .fedgate/secrets.env up --build'),
      'the usage command is not documented in the file',
    );
    const used: string[] = [];
    for (const name of secretNames()) {
      for (const ref of text.matchAll(new RegExp(`\\$\\{${name}([^A-Za-z0-9_][^}]*)?\\}`, 'g'))) {
        used.push(name);
        assert.match(ref[1] ?? '', /^:\?./, `${ref[0]}: secrets must use \${${name}:?message}`);
      }
      assert.doesNotMatch(text, new RegExp(`\\$${name}\\b`), `bare $${name}: use \${${name}:?message}`);
    }
    assert.ok(used.length > 0, 'no secret is used at all');
    // Without secrets.env, interpolation must fail (Compose refuses to start) rather than use empty passwords.
    const problems: string[] = [];
    interpolateTree(load().raw, stackEnv, problems);
    for (const name of new Set(used)) assert.ok(problems.some((p) => p.includes(`${name} required`)), `${name} missing goes unnoticed`);
  });

  it('hard-codes no stack.env port (they come from ${VAR} interpolation)', () => {
    const { text, stackEnv } = load();
    const lines = text.split('\n');
    const offenders: string[] = [];
    for (const [name, value] of Object.entries(stackEnv)) {
      if (!name.endsWith('_PORT')) continue;
      lines.forEach((line, i) => {
        if (new RegExp(`(?<![0-9])${value}(?![0-9])`).test(line)) offenders.push(`line ${i + 1}: ${value} (${name}) — use \${${name}}`);
      });
    }
    assert.deepEqual(offenders, []);
  });

  it('has every part of the native stack', () => {
    const names = Object.keys(load().compose.services);
    assert.deepEqual(ALL_SERVICES.filter((s) => !names.includes(s)), [], 'missing services');
  });

  it('gives Kafka and the audit-service the CPU weight of BACKGROUND_NICE, as the native stack runs them at that nice value (stack.integration.ts)', () => {
    const { stackEnv } = load();
    // the kernel's weight of each nice value (sched_prio_to_weight); nice 0 = 1024 = no cpu_shares
    const weightOfNice: Record<string, number> = { 0: 1024, 5: 335, 10: 110, 15: 36, 19: 15 };
    const weight = weightOfNice[stackEnv.BACKGROUND_NICE ?? ''];
    assert.ok(weight !== undefined, `BACKGROUND_NICE=${stackEnv.BACKGROUND_NICE} has no weight in this test's table`);
    for (const name of Object.keys(load().compose.services)) {
      const background = name === 'kafka' || name === 'audit-service';
      assert.equal(service(name).cpu_shares, background && weight !== 1024 ? weight : undefined, `${name}: cpu_shares`);
    }
  });

  it('runs the official images at the stack.env versions', () => {
    const { stackEnv, raw } = load();
    assert.equal(service('postgres').image, 'postgres:15');
    assert.equal(service('kafka').image, `apache/kafka:${stackEnv.KAFKA_VERSION}`);
    assert.equal(service('openfga').image, `openfga/openfga:${stackEnv.OPENFGA_VERSION}`);
    assert.equal(service('openfga-migrate').image, `openfga/openfga:${stackEnv.OPENFGA_VERSION}`);
    // The versions follow stack.env instead of being copied into the file.
    assert.equal(raw.services.kafka?.image, 'apache/kafka:${KAFKA_VERSION}');
    assert.equal(raw.services.openfga?.image, 'openfga/openfga:${OPENFGA_VERSION}');
    for (const name of ['postgres', 'kafka', 'openfga', 'openfga-migrate']) assert.equal(service(name).build, undefined, `${name} must not be built`);
  });

  it('builds the Fedgate image from the Dockerfile and runs the compiled apps', () => {
    const stages = [...read('Dockerfile').matchAll(/^FROM\s+\S+\s+AS\s+(\S+)/gim)].map((m) => m[1]!.toLowerCase());
    const buildOfImage = new Map<string, string>();
    for (const name of FEDGATE_IMAGE_SERVICES) {
      const svc = service(name);
      assert.ok(svc.build && typeof svc.build === 'object', `${name}: build: { context, target } expected`);
      assert.equal(path.resolve(root, svc.build.context ?? '.'), root, `${name}: build context must be the repo root`);
      assert.ok(existsSync(path.join(root, svc.build.dockerfile ?? 'Dockerfile')), `${name}: Dockerfile not found`);
      assert.ok(svc.build.target && stages.includes(svc.build.target), `${name}: target ${svc.build.target} is not a stage of the Dockerfile (${stages.join(', ')})`);
      // One tag must never name two different builds (the last build would win).
      if (svc.image) {
        const key = JSON.stringify(svc.build);
        assert.equal(buildOfImage.get(svc.image) ?? key, key, `${name}: image ${svc.image} is used for different builds`);
        buildOfImage.set(svc.image, key);
      }
    }
    // Migrations need the prisma CLI, which only the build stage keeps.
    assert.equal((service('migrate').build as { target?: string }).target, 'build');
    assert.deepEqual(commandOf(service('migrate')), ['npx', 'prisma', 'migrate', 'deploy']);
    assert.match(commandOf(service('tls-init')).join(' '), /scripts\/infra\/tls\.sh ensure/);
    for (const app of ['dev-idp', ...APP_SERVICES.map((s) => s.name)]) {
      assert.deepEqual(commandOf(service(app)), ['node', `dist/apps/${app}/src/main.js`]);
      assert.ok(existsSync(path.join(root, `apps/${app}/src/main.ts`)), `apps/${app}/src/main.ts does not exist`);
    }
  });

  it('gives every long-running service a healthcheck that probes the stack.env port', () => {
    const { stackEnv } = load();
    for (const name of ALL_SERVICES.filter((s) => !ONE_SHOT.includes(s))) {
      const svc = service(name);
      const test = svc.healthcheck?.test;
      assert.ok(svc.healthcheck && svc.healthcheck.disable !== true, `${name}: no healthcheck`);
      assert.ok(Array.isArray(test) && ['CMD', 'CMD-SHELL'].includes(test[0] ?? '') && test.length > 1, `${name}: healthcheck.test must be [CMD|CMD-SHELL, ...]`);
    }
    assert.match(healthTestOf(service('postgres')), new RegExp(`pg_isready .*-p ${stackEnv.PG_PORT}\\b`));
    assert.match(healthTestOf(service('kafka')), new RegExp(`/opt/kafka/bin/kafka-(broker-api-versions|topics)\\.sh .*localhost:${stackEnv.KAFKA_PORT}\\b`));
    assert.match(healthTestOf(service('openfga')), new RegExp(`grpc_health_probe -addr=localhost:${stackEnv.OPENFGA_GRPC_PORT}$`));
    // Node probes read their port from the container's own environment.
    const probes: Array<[string, string, string, string]> = [
      ['dev-idp', 'IDP_PORT', '/healthz', stackEnv.IDP_PORT!],
      ...APP_SERVICES.map((s): [string, string, string, string] => [s.name, 'FEDGATE_PORT', '/readyz', stackEnv[s.portVar]!]),
    ];
    for (const [name, portVariable, route, port] of probes) {
      const test = healthTestOf(service(name));
      assert.match(test, /^CMD node -e fetch\('https:\/\/localhost:'/, `${name}: expected a node fetch probe over https://localhost`);
      assert.ok(test.includes(`process.env.${portVariable} + '${route}'`), `${name}: the probe must fetch ${route} on ${portVariable}`);
      assert.equal(environmentOf(service(name))[portVariable], port, `${name}: ${portVariable}`);
      assert.equal(environmentOf(service(name)).NODE_EXTRA_CA_CERTS, `${CONTAINER_STATE}/tls/ca.pem`, `${name}: the probe must trust the dev CA`);
    }
  });

  it('runs the one-shot steps once and never waits on them as servers', () => {
    for (const name of ONE_SHOT) {
      const svc = service(name);
      assert.ok(svc.restart === undefined || svc.restart === 'no', `${name}: a one-shot step must not restart`);
      assert.deepEqual(portsOf(svc), [], `${name}: publishes ports`);
    }
  });

  it('orders start-up with depends_on conditions on existing services, without cycles', () => {
    const { compose } = load();
    const names = Object.keys(compose.services);
    const graph: Record<string, string[]> = {};
    for (const name of names) {
      const deps = dependsOf(compose.services[name]!);
      graph[name] = Object.keys(deps);
      for (const [dep, condition] of Object.entries(deps)) {
        assert.ok(names.includes(dep), `${name} depends on unknown service ${dep}`);
        const expected = ONE_SHOT.includes(dep) ? 'service_completed_successfully' : 'service_healthy';
        assert.equal(condition, expected, `${name} → ${dep}: condition must be ${expected}`);
      }
    }
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (name: string, trail: string[]): void => {
      if (state.get(name) === 'done') return;
      assert.notEqual(state.get(name), 'visiting', `depends_on cycle: ${[...trail, name].join(' → ')}`);
      state.set(name, 'visiting');
      for (const dep of graph[name] ?? []) visit(dep, [...trail, name]);
      state.set(name, 'done');
    };
    for (const name of names) visit(name, []);
  });

  it('makes each service wait for what it needs', () => {
    const expectDep = (name: string, dep: string, condition: string): void =>
      assert.equal(dependsOf(service(name))[dep], condition, `${name} must wait for ${dep} (${condition})`);
    expectDep('migrate', 'postgres', 'service_healthy');
    expectDep('openfga-migrate', 'postgres', 'service_healthy');
    expectDep('openfga', 'openfga-migrate', 'service_completed_successfully');
    expectDep('dev-idp', 'tls-init', 'service_completed_successfully');
    // A service's config keys name its dependencies (its /readyz checks them).
    for (const { name } of APP_SERVICES) {
      const { schema, literalKeys } = configSchemaOf(name);
      for (const key of new Set([...Object.keys(schema.shape), ...literalKeys])) {
        const dep = DEPENDENCY_OF_CONFIG_KEY[key];
        if (dep) expectDep(name, dep.service, dep.condition);
      }
    }
  });

  it('publishes exactly the stack.env ports, on the loopback interface like the native servers', () => {
    const { compose, stackEnv } = load();
    const expected: Record<string, string[]> = {
      postgres: ['PG_PORT'],
      kafka: ['KAFKA_PORT'],
      openfga: ['OPENFGA_HTTP_PORT', 'OPENFGA_GRPC_PORT'],
      'dev-idp': ['IDP_PORT'],
      ...Object.fromEntries(APP_SERVICES.map((s) => [s.name, [s.portVar]])),
      // flwr 1.37+: the Control API for the flwr CLI and the Fleet API for SuperNodes on one HTTP port
      superlink: ['SUPERLINK_CONTROL_PORT'],
    };
    for (const name of Object.keys(compose.services)) {
      const ports = portsOf(compose.services[name]!);
      const want = (expected[name] ?? []).map((v) => Number(stackEnv[v]));
      assert.deepEqual(ports.map((p) => p.published).sort(), [...want].sort(), `${name}: published ports (${(expected[name] ?? []).join(', ') || 'none'})`);
      for (const p of ports) {
        assert.equal(p.target, p.published, `${name}: container port ${p.target} must equal the published ${p.published}`);
        assert.equal(p.hostIp, '127.0.0.1', `${name}: port ${p.published} must be published on 127.0.0.1 only`);
      }
    }
  });

  it('gives the Fedgate services the variables service-env.sh exports, with container host names', () => {
    const { vars, stackEnv } = load();
    const exported = nativeServiceEnv(vars);
    // the per-role URLs: services.sh hands a service its own as FEDGATE_DATABASE_URL
    const perRole = (key: string) => /^FEDGATE_[A-Z_]+_DATABASE_URL$/.test(key);
    for (const { name, portVar } of APP_SERVICES) {
      const ownUrl = exported[`FEDGATE_${name.replace(/-service$/, '').toUpperCase()}_DATABASE_URL`];
      assert.ok(ownUrl, `service-env.sh exports no database URL of ${name}'s own role`);
      const native: Vars = { ...Object.fromEntries(Object.entries(exported).filter(([k]) => !perRole(k))), FEDGATE_DATABASE_URL: ownUrl };
      const env = environmentOf(service(name));
      // services.sh starts a service with FEDGATE_WORKERS=${<NAME>_WORKERS} when stack.env sets it
      const workersVar = portVar.replace(/_PORT$/, '_WORKERS');
      const workers = stackEnv[workersVar] === undefined ? [] : ['FEDGATE_WORKERS'];
      const kafkaPrincipal = ['FEDGATE_KAFKA_USERNAME', 'FEDGATE_KAFKA_PASSWORD'];
      assert.deepEqual(Object.keys(env).sort(), [...Object.keys(native), 'FEDGATE_PORT', 'FEDGATE_HOST', ...kafkaPrincipal, ...workers].sort(), `${name}: variable names`);
      // its own Kafka principal, as services.sh starts it
      assert.equal(env.FEDGATE_KAFKA_USERNAME, name, `${name}: Kafka principal`);
      assert.equal(env.FEDGATE_KAFKA_PASSWORD, vars[kafkaPasswordVariable(name)], `${name}: Kafka password`);
      assert.match(read('scripts/infra/services.sh'), /FEDGATE_KAFKA_USERNAME=\$svc-service FEDGATE_KAFKA_PASSWORD=\$\(kafka_password_of "\$svc-service"\)/);
      assert.equal(env.FEDGATE_PORT, stackEnv[portVar], `${name}: FEDGATE_PORT must be \${${portVar}}`);
      if (workers.length) assert.equal(env.FEDGATE_WORKERS, stackEnv[workersVar], `${name}: FEDGATE_WORKERS must be \${${workersVar}}`);
      assert.equal(env.FEDGATE_HOST, '0.0.0.0', `${name}: must listen on all interfaces in its container`);
      for (const [variable, nativeValue] of Object.entries(native)) {
        const expected = nativeValue.replaceAll(NATIVE_STATE, CONTAINER_STATE).replaceAll('127.0.0.1', CONTAINER_HOST_OF[variable] ?? '127.0.0.1');
        assert.equal(env[variable], expected, `${name}: ${variable}`);
      }
    }
  });

  it('uses the stack.env ports in the services URLs', () => {
    const { stackEnv } = load();
    for (const { name } of APP_SERVICES) {
      const env = environmentOf(service(name));
      for (const [variable, portVar] of Object.entries(PORT_OF_URL)) {
        assert.equal(portIn(env[variable] ?? ''), stackEnv[portVar], `${name}: ${variable} must use \${${portVar}}`);
      }
    }
  });

  it("provides every key of each service's config schema, with valid values", () => {
    for (const { name } of APP_SERVICES) {
      const env = environmentOf(service(name));
      const { schema, literalKeys } = configSchemaOf(name);
      const shape = schema.shape as Record<string, z.ZodType>;
      for (const key of new Set([...Object.keys(shape), ...literalKeys])) {
        // Keys with a default (FEDGATE_LOG_LEVEL) may stay unset, as they do natively.
        const defaulted = shape[key]?.safeParse(undefined).success === true;
        assert.ok(key in env || defaulted, `${name}: ${key} is required by its config schema but not set`);
      }
      assert.doesNotThrow(() => platform.loadConfig(schema, env), `${name}: the service would refuse its configuration`);
    }
  });

  it('configures the dev IdP like dev-idp.sh, with the issuer the services use', () => {
    const { vars, stackEnv } = load();
    const env = environmentOf(service('dev-idp'));
    const options = devIdentityProviderOptionsFromEnv(env, '/app');
    const issuer = environmentOf(service(APP_SERVICES[0].name)).FEDGATE_OIDC_ISSUER;
    assert.equal(options.issuer, issuer);
    assert.equal(issuer, `https://dev-idp:${stackEnv.IDP_PORT}`);
    assert.equal(options.port, Number(stackEnv.IDP_PORT));
    assert.equal(options.host, '0.0.0.0');
    assert.equal(options.apiAudience, stackEnv.IDP_API_AUDIENCE);
    assert.equal(options.clientId, stackEnv.IDP_CLIENT_ID);
    assert.equal(env.FEDGATE_IDP_ADMIN_KEY, vars.FEDGATE_IDP_ADMIN_KEY);
    assert.deepEqual(JSON.parse(env.FEDGATE_IDP_USERS ?? ''), JSON.parse(nativeDevIdpUsersJson(vars)), 'users differ from dev_idp_users_json');
    assert.deepEqual(options.tls, { certFile: `${CONTAINER_STATE}/tls/server.pem`, keyFile: `${CONTAINER_STATE}/tls/server-key.pem` });
    // Its signing keys persist in the state volume, which it must be able to write.
    const state = mountsOf(service('dev-idp')).find((m) => m.target === CONTAINER_STATE);
    assert.ok(state && !state.readOnly && options.jwksFile?.startsWith(`${CONTAINER_STATE}/`) === true, 'jwks.json must be in the writable state volume');
  });

  it('gives OpenFGA exactly the OPENFGA_* settings of openfga.sh', () => {
    const { vars, stackEnv } = load();
    const native = nativeOpenFgaEnv(vars);
    const hostOf: Record<string, string> = { OPENFGA_DATASTORE_URI: 'postgres', OPENFGA_HTTP_ADDR: '0.0.0.0', OPENFGA_GRPC_ADDR: '0.0.0.0' };
    for (const name of ['openfga', 'openfga-migrate']) {
      const svc = service(name);
      assert.equal(svc.env_file, undefined, `${name}: no env_file (OpenFGA would read stack.env's OPENFGA_VERSION etc.)`);
      const env = environmentOf(svc);
      assert.deepEqual(Object.keys(env).sort(), Object.keys(native).sort(), `${name}: OPENFGA_* variable names`);
      const leaked = Object.keys(stackEnv).filter((k) => k.startsWith('OPENFGA_') && k in env);
      assert.deepEqual(leaked, [], `${name}: stack.env variables that OpenFGA would misread`);
      for (const [variable, nativeValue] of Object.entries(native)) {
        assert.equal(env[variable], nativeValue.replaceAll('127.0.0.1', hostOf[variable] ?? '127.0.0.1'), `${name}: ${variable}`);
      }
    }
    assert.deepEqual(commandOf(service('openfga-migrate')), ['migrate']);
    assert.deepEqual(commandOf(service('openfga')), ['run']);
    assert.equal(portIn(environmentOf(service('openfga')).OPENFGA_DATASTORE_URI ?? ''), stackEnv.PG_PORT);
  });

  it('configures Kafka like infra/kafka/server.properties', () => {
    const { vars, stackEnv } = load();
    const kafka = service('kafka');
    assert.equal(kafka.env_file, undefined, 'kafka: no env_file (every KAFKA_* variable becomes a broker property)');
    const env = environmentOf(kafka);
    assert.equal(env.CLUSTER_ID, stackEnv.KAFKA_CLUSTER_ID, 'CLUSTER_ID must be ${KAFKA_CLUSTER_ID}');
    const props: Vars = {};
    for (const [name, value] of Object.entries(env)) {
      if (name.startsWith('KAFKA_') && !KAFKA_LAUNCHER_VARIABLES.has(name)) props[kafkaPropertyName(name)] = value;
    }
    const native = nativeKafkaProperties(vars);
    assert.deepEqual(Object.keys(props).sort(), Object.keys(native).sort(), 'broker properties (KAFKA_* variables) differ from server.properties');
    for (const [key, nativeValue] of Object.entries(native)) {
      const value = props[key]!;
      if (key === 'log.dirs') {
        assert.ok(mountsOf(kafka).some((m) => m.target === value), `log.dirs ${value} must be a mounted volume`);
      } else if (key === 'listeners' || key === 'advertised.listeners') {
        const ours = parseListeners(value);
        const theirs = parseListeners(nativeValue);
        assert.deepEqual(Object.keys(ours).sort(), Object.keys(theirs).sort(), `${key}: listener names`);
        for (const [listener, { port }] of Object.entries(theirs)) assert.equal(ours[listener]!.port, port, `${key}: ${listener} port`);
        if (key === 'advertised.listeners') assert.equal(ours.CLIENT?.host, 'kafka', 'clients in other containers reach the broker as kafka');
        else assert.ok(['', '0.0.0.0'].includes(ours.CLIENT?.host ?? '-'), 'CLIENT must listen on all interfaces');
      } else {
        assert.equal(value, nativeValue, key);
      }
    }
  });

  it("bootstraps Kafka's SCRAM users and the catalogue's ACLs like kafka.sh", () => {
    const { vars, stackEnv } = load();
    const kafka = service('kafka');
    const env = environmentOf(kafka);
    // every principal has a generated password (ensure_secrets) and is made at format time
    for (const user of KAFKA_SCRAM_USERS) assert.ok(secretNames().includes(kafkaPasswordVariable(user)), `ensure_secrets must generate ${kafkaPasswordVariable(user)}`);
    assert.deepEqual(env.FEDGATE_KAFKA_SCRAM_USERS?.split(' '), [...KAFKA_SCRAM_USERS], 'FEDGATE_KAFKA_SCRAM_USERS must list KAFKA_SCRAM_USERS');
    for (const user of KAFKA_SCRAM_USERS) assert.equal(env[kafkaPasswordVariable(user)], vars[kafkaPasswordVariable(user)], `kafka: ${kafkaPasswordVariable(user)}`);
    assert.deepEqual(commandOf(kafka), ['bash', '/fedgate-kafka/docker-start.sh']);
    const mount = mountsOf(kafka).find((m) => m.target === '/fedgate-kafka');
    assert.ok(mount?.readOnly && path.resolve(root, mount.source) === path.join(root, 'infra/kafka'), 'infra/kafka mounted read-only at /fedgate-kafka');
    const start = read('infra/kafka/docker-start.sh');
    assert.equal(spawnSync('bash', ['-n', path.join(root, 'infra/kafka/docker-start.sh')]).status, 0);
    assert.match(start, /--add-scram/);
    assert.match(start, /exec \/etc\/kafka\/docker\/run$/m, "then the image's own start");
    assert.match(healthTestOf(kafka), /--command-config \/tmp\/fedgate-health\.properties/, 'the healthcheck authenticates');
    assert.match(start, /\/tmp\/fedgate-health\.properties/);
    // the ACL step: the topic catalogue's, as the operator, once Kafka is healthy
    const acls = service('kafka-acls');
    assert.deepEqual(commandOf(acls), ['node', 'scripts/infra/kafka-security.mjs', 'acls']);
    assert.deepEqual(environmentOf(acls), { FEDGATE_KAFKA_BROKERS: `kafka:${stackEnv.KAFKA_PORT}`, FEDGATE_KAFKA_OPERATOR_PASSWORD: vars.FEDGATE_KAFKA_OPERATOR_PASSWORD });
    assert.equal(dependsOf(acls).kafka, 'service_healthy');
    assert.match(read('scripts/infra/kafka.sh'), /kafka-security\.mjs" acls/, 'natively the same script');
  });

  it('configures PostgreSQL like postgres.sh: the superuser only for init, which makes the same roles and databases', () => {
    const { vars, stackEnv } = load();
    const pg = service('postgres');
    const env = environmentOf(pg);
    assert.equal(env.POSTGRES_USER, 'postgres', 'the image superuser is not a Fedgate role');
    assert.notEqual(env.POSTGRES_USER, stackEnv.PG_USER);
    assert.equal(env.POSTGRES_PASSWORD, vars.FEDGATE_PG_SUPERUSER_PASSWORD);
    assert.equal(env.PGPORT, stackEnv.PG_PORT, 'PGPORT makes the server listen on the native port');
    for (const key of ['PG_USER', 'PG_DATABASE', 'OPENFGA_PG_USER', 'OPENFGA_PG_DATABASE']) assert.equal(env[key], stackEnv[key], `postgres: ${key}`);
    for (const key of ['FEDGATE_PG_PASSWORD', 'FEDGATE_PG_LOGIN_PASSWORD', 'FEDGATE_PG_TOKEN_PASSWORD', 'FEDGATE_PG_AUTHZ_PASSWORD', 'FEDGATE_PG_AUDIT_PASSWORD', 'FEDGATE_PG_AUDIT_MAINTENANCE_PASSWORD', 'OPENFGA_PG_PASSWORD']) {
      assert.equal(env[key], vars[key], `postgres: ${key} for the init script`);
    }
    // nobody else connects as the superuser; the migrations alone as the owner; each service as its own role
    const userOf = (url: string | undefined) => (url ? decodeURIComponent(new URL(url).username) : undefined);
    for (const name of Object.keys(load().compose.services)) {
      for (const [key, value] of Object.entries(environmentOf(service(name)))) {
        if (/^postgres(ql)?:\/\//.test(value)) assert.notEqual(userOf(value), 'postgres', `${name}: ${key} uses the superuser`);
      }
    }
    assert.equal(userOf(environmentOf(service('migrate')).FEDGATE_DATABASE_URL), stackEnv.PG_USER, 'migrations run as the owner role');
    for (const { name } of APP_SERVICES) assert.equal(userOf(environmentOf(service(name)).FEDGATE_DATABASE_URL), `fedgate_${name.replace(/-service$/, '')}`, `${name}: its own role`);
    assert.equal(userOf(environmentOf(service('openfga')).OPENFGA_DATASTORE_URI), stackEnv.OPENFGA_PG_USER, "OpenFGA's own role");
    const mounts = mountsOf(pg);
    assert.ok(mounts.some((m) => m.target === '/var/lib/postgresql/data' && !m.source.includes('/')), 'data must be in a named volume');
    const init = mounts.find((m) => m.target === '/docker-entrypoint-initdb.d');
    assert.ok(init, 'infra/postgres must be mounted into /docker-entrypoint-initdb.d');
    assert.equal(path.resolve(root, init.source), path.join(root, 'infra/postgres'));
    // the init script feeds roles.psql, the file postgres.sh runs natively, which makes both databases
    const scripts = readdirSync(path.join(root, 'infra/postgres')).filter((f) => f.endsWith('.sh'));
    const script = scripts.find((f) => /\$\{?OPENFGA_PG_DATABASE/.test(read(`infra/postgres/${f}`)) && read(`infra/postgres/${f}`).includes('roles.psql'));
    assert.ok(script, 'no init script in infra/postgres runs roles.psql with ${OPENFGA_PG_DATABASE}');
    assert.match(read('infra/postgres/roles.psql'), /CREATE DATABASE %I OWNER %I', :'openfga_db', :'openfga'/);
    assert.match(read('scripts/infra/postgres.sh'), /infra\/postgres\/roles\.psql/);
    assert.ok(!readdirSync(path.join(root, 'infra/postgres')).some((f) => f.endsWith('.sql')), 'a *.sql file would be run by the image without its variables');
    // Executable: the image runs it in its own bash instead of sourcing it into the entrypoint.
    assert.ok((statSync(path.join(root, 'infra/postgres', script)).mode & 0o111) !== 0, `${script} must be executable`);
    const syntax = spawnSync('bash', ['-n', path.join(root, 'infra/postgres', script)], { encoding: 'utf8' });
    assert.equal(syntax.status, 0, syntax.stderr);
    // The native server's settings (except where it listens) are passed as -c options.
    const command = commandOf(pg);
    assert.equal(command[0], 'postgres');
    for (const [setting, value] of Object.entries(nativePostgresSettings())) {
      if (['listen_addresses', 'port'].includes(setting) || setting.startsWith('unix_socket')) continue;
      const i = command.findIndex((arg, j) => command[j - 1] === '-c' && arg.startsWith(`${setting}=`));
      assert.ok(i > 0, `postgres: -c ${setting}=${value} missing`);
      assert.equal(command[i], `${setting}=${value}`);
    }
  });

  it('shares one state volume: tls-init writes the CA and certificate where the services read them', () => {
    const { compose } = load();
    const tlsInit = service('tls-init');
    assert.equal(environmentOf(tlsInit).FEDGATE_STATE_DIR, CONTAINER_STATE);
    const volumeOf = (name: string): Mount | undefined => mountsOf(service(name)).find((m) => m.target === CONTAINER_STATE);
    const written = volumeOf('tls-init');
    assert.ok(written && !written.readOnly, 'tls-init must mount the state volume read-write');
    assert.ok(compose.volumes && written.source in compose.volumes, `volume ${written.source} is not declared`);
    for (const name of ['dev-idp', ...APP_SERVICES.map((s) => s.name)]) {
      assert.equal(volumeOf(name)?.source, written.source, `${name} must mount ${written.source} at ${CONTAINER_STATE}`);
    }
    // Every named volume used is declared at the top level.
    for (const [name, svc] of Object.entries(compose.services)) {
      for (const m of mountsOf(svc)) {
        if (m.source && !m.source.startsWith('.') && !m.source.startsWith('/')) assert.ok(compose.volumes && m.source in compose.volumes, `${name}: volume ${m.source} not declared`);
      }
    }
  });

  // Only the Compose CLI itself knows every rule; it validates without an engine.
  const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => ['PATH', 'HOME'].includes(k) || k.startsWith('DOCKER_'))) as Vars;
  const composeVersion = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8', env: cleanEnv });
  const skip = composeVersion.error ? 'the docker CLI is not installed' : composeVersion.status !== 0 ? 'the docker compose plugin is not installed' : false;

  it('runs the SuperLink like superlink.sh: flwr at FLWR_VERSION, Fedgate URLs by service name, the shared TLS files, optional', () => {
    const { stackEnv, vars } = load();
    const svc = service('superlink');
    assert.deepEqual((svc as { profiles?: string[] }).profiles, ['superlink'], 'optional, like --with-superlink');
    assert.ok(svc.build && typeof svc.build === 'object', 'superlink: built from integrations/flower');
    assert.equal(path.resolve(root, svc.build.context ?? '.'), path.join(root, 'integrations/flower'));
    const dockerfile = read(`integrations/flower/${svc.build.dockerfile ?? 'Dockerfile'}`);
    assert.match(dockerfile, /^FROM python:3\.\d+-slim$/m, 'the official Python image');
    assert.match(dockerfile, /pip install .*"flwr==\$\{FLWR_VERSION\}" \./, 'flwr at the build arg, plus this package');
    assert.equal((svc.build as { args?: Record<string, string> }).args?.FLWR_VERSION, stackEnv.FLWR_VERSION);

    // the same flower-superlink flags as the native script, with container paths and addresses
    const option = (args: string[], name: string): string | undefined => {
      const i = args.indexOf(name);
      return i < 0 ? undefined : args[i + 1];
    };
    const command = commandOf(svc);
    const native = read('scripts/infra/superlink.sh');
    // compose runs the newest release (FLWR_VERSION); superlink.sh also keeps 1.22-1.23's gRPC ports
    const legacyOnly = new Set(['--serverappio-api-address', '--fleet-api-address', '--control-api-address', '--storage-dir', '--appio-api-address']);
    // the ServerApp executor's flags (flower-superexec, the superexec service below)
    const executorOnly = new Set(['--runtime-api-address', '--root-certificates', '--insecure']);
    const nativeFlags = [...native.matchAll(/(--[a-z][a-z-]+) "/g)].map((m) => m[1]!).filter((f) => !legacyOnly.has(f) && !executorOnly.has(f));
    assert.ok(nativeFlags.length >= 7, 'flags of superlink.sh not found');
    for (const flag of nativeFlags.filter((f) => f !== '--stack-file')) assert.ok(command.includes(flag), `superlink: ${flag} as in superlink.sh`);
    assert.equal(option(command, '--login-url'), `https://login-service:${stackEnv.LOGIN_PORT}`);
    assert.equal(option(command, '--token-url'), `https://token-service:${stackEnv.TOKEN_PORT}`);
    assert.equal(option(command, '--authz-url'), `https://authz-service:${stackEnv.AUTHZ_PORT}`);
    assert.equal(option(command, '--service-name'), stackEnv.FEDGATE_SERVICE_NAME);
    // its own files only: the CA certificate, its own certificate and key, its Fedgate key file
    for (const [flag, file] of [['--ca-cert', 'ca.pem'], ['--ssl-ca-certfile', 'ca.pem'], ['--ssl-certfile', 'superlink.pem'], ['--ssl-keyfile', 'superlink-key.pem'], ['--api-key-file', 'fedgate-api-key']] as const) {
      assert.equal(option(command, flag), `/superlink-secrets/${file}`, flag);
    }
    assert.equal(option(command, '--port'), stackEnv.SUPERLINK_CONTROL_PORT, '--port on ${SUPERLINK_CONTROL_PORT}');
    assert.equal(option(command, '--health-server-address')?.split(':')[1], stackEnv.SUPERLINK_HEALTH_PORT, '--health-server-address on ${SUPERLINK_HEALTH_PORT}');
    const env = environmentOf(svc);
    assert.deepEqual(Object.keys(env), ['SUPERLINK_HEALTH_PORT'], 'no secret in the environment flwr hands to the ServerApp');
    assert.ok(!Object.values(env).includes(vars.FEDGATE_API_KEY!), 'the key is not in its environment');
    assert.equal(env.SUPERLINK_HEALTH_PORT, stackEnv.SUPERLINK_HEALTH_PORT);
    assert.match(healthTestOf(svc), /^CMD python -c .*grpc_health.*os\.environ\['SUPERLINK_HEALTH_PORT'\]/);
    // no access to the shared state (CA key, the services' key, IdP keys, secrets): its own volume only
    assert.deepEqual(mountsOf(svc).map((m) => [m.source, m.target, m.readOnly ?? false]).sort(), [['superlink-data', '/superlink-data', false], ['superlink-secrets', '/superlink-secrets', true]]);
    for (const dep of ['login-service', 'token-service', 'authz-service']) assert.equal(dependsOf(svc)[dep], 'service_healthy', `waits for ${dep}`);
    assert.equal(dependsOf(svc)['superlink-init'], 'service_completed_successfully');
    // superlink-init writes those files (tls.sh superlink) and the key (from the secret), and is optional too
    const init = service('superlink-init');
    assert.deepEqual((init as { profiles?: string[] }).profiles, ['superlink']);
    const script = commandOf(init).join(' ');
    assert.match(script, /scripts\/infra\/tls\.sh superlink \/superlink-secrets 1000:1000/);
    assert.match(script, /umask 077 .*>\/superlink-secrets\/fedgate-api-key/);
    assert.equal(environmentOf(init).SUPERLINK_KEY, vars.FEDGATE_API_KEY, "the SuperLink's key, for its file only");
    assert.match(script, /install -m 0644 \/superlink-secrets\/ca\.pem \/superlink-ca\/ca\.pem/, 'the CA certificate, alone, for the executor');
    // the users' code runs elsewhere: process isolation, like superlink.sh
    assert.equal(option(command, '--isolation'), 'process');
  });

  it('runs the ServerApps (user code) in a superexec container of their own: another user, the CA certificate only, no secret', () => {
    const { stackEnv, vars } = load();
    const svc = service('superexec') as ComposeService & { entrypoint?: string[]; tmpfs?: string[] };
    assert.deepEqual((svc as { profiles?: string[] }).profiles, ['superlink'], 'with the SuperLink');
    assert.equal(svc.image, service('superlink').image, "the SuperLink's image (flwr at FLWR_VERSION)");
    assert.deepEqual(svc.entrypoint, ['flower-superexec']);
    assert.equal(svc.user, '65534:65534', 'nobody: not the SuperLink\'s user (1000), not root');
    const command = commandOf(svc);
    const option = (name: string) => command[command.indexOf(name) + 1];
    assert.equal(option('--runtime-api-address'), `superlink:${stackEnv.SUPERLINK_CONTROL_PORT}`);
    assert.equal(option('--root-certificates'), '/superlink-ca/ca.pem');
    assert.ok(!command.includes('--insecure'), 'TLS to the Runtime API');
    // nothing of the stack but the CA certificate's volume, read-only; no secret in its environment
    assert.deepEqual(mountsOf(svc).map((m) => [m.source, m.target, m.readOnly]), [['superlink-ca', '/superlink-ca', true]]);
    const env = environmentOf(svc);
    for (const [name, value] of Object.entries(vars)) {
      if (/KEY|PASSWORD|SECRET/.test(name)) assert.ok(!Object.values(env).includes(value), `${name} is not in its environment`);
    }
    assert.deepEqual(Object.keys(env).sort(), ['FLWR_HOME', 'FLWR_TELEMETRY_ENABLED', 'HOME']);
    assert.deepEqual(svc.tmpfs, ['/serverapp:mode=1777'], 'its home in memory');
    assert.equal(dependsOf(svc).superlink, 'service_healthy');
  });

  it('is accepted by `docker compose config` and interpolates the same way', { skip }, () => {
    const { compose, secrets } = load();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fedgate-compose-'));
    try {
      const secretsFile = path.join(dir, 'secrets.env');
      writeFileSync(secretsFile, Object.entries(secrets).map(([k, v]) => `${k}=${v}\n`).join(''));
      // Only PATH/HOME/DOCKER_*: the shell's variables win over --env-file, and scripts/test.sh
      // exports the real stack.env and secrets.
      const run = (...args: string[]) =>
        spawnSync('docker', ['compose', '-f', COMPOSE_FILE, '--project-directory', root, '--env-file', path.join(root, 'infra/stack.env'), ...args], {
          encoding: 'utf8',
          env: cleanEnv,
          timeout: 60_000,
        });
      const quiet = run('--env-file', secretsFile, 'config', '-q');
      assert.equal(quiet.status, 0, `docker compose config -q failed: ${quiet.stderr}`);
      const missing = run('config', '-q');
      assert.notEqual(missing.status, 0, 'docker compose config accepted the file without secrets');
      assert.match(missing.stderr, /FEDGATE_PG_PASSWORD|OPENFGA_PRESHARED_KEY|FEDGATE_IDP_/);
      const json = run('--env-file', secretsFile, 'config', '--format', 'json');
      assert.equal(json.status, 0, json.stderr);
      const theirs = JSON.parse(json.stdout) as ComposeFile;
      assert.deepEqual(Object.keys(theirs.services).sort(), Object.keys(compose.services).sort());
      for (const [name, ours] of Object.entries(compose.services)) {
        const their = theirs.services[name]!;
        assert.deepEqual(environmentOf(their), environmentOf(ours), `${name}: environment as Compose sees it`);
        assert.deepEqual(portsOf(their), portsOf(ours), `${name}: ports as Compose sees them`);
        assert.deepEqual(dependsOf(their), dependsOf(ours), `${name}: depends_on as Compose sees it`);
        assert.equal(their.image, ours.image, `${name}: image`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
