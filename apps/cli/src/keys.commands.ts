import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { API_KEY_ROLES, ApiKeyNameSchema, ServiceNameSchema } from '@fedgate/contracts';

class KeysCommandError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const list = (value: string) => value.split(',').map((v) => v.trim()).filter(Boolean);

/**
 * `fedgate keys create`: a new service key. The key goes to its holder only (a 0600 file with
 * --out, else stdout once); the services are configured with its FEDGATE_API_KEYS entry, which
 * holds the key's SHA-256, never the key.
 */
export function registerKeysCommands(program: Command): void {
  const keys = program.command('keys').description('service keys: one per SuperLink, scoped to its roles and services');
  keys
    .command('create')
    .description("make a key and print its FEDGATE_API_KEYS entry (name:sha256:roles:services); the key itself only to --out (mode 0600) or once to stdout")
    .requiredOption('--name <name>', 'the key\'s name: the actor of its requests in the audit log (e.g. superlink-a)')
    .option('--role <roles>', `comma-separated roles: ${API_KEY_ROLES.join(', ')}`, 'superlink')
    .option('--service <services>', "comma-separated services it acts for ('*': every one); default: --name")
    .option('--out <file>', 'write the key to this file, mode 0600 (never overwrites), instead of printing it')
    .action((opts: { name: string; role: string; service?: string; out?: string }) => {
      if (!ApiKeyNameSchema.safeParse(opts.name).success) throw new KeysCommandError('invalid_name', `'${opts.name}' is not a key name (letters, digits, . _ -; at most 64).`);
      const roles = list(opts.role);
      const unknown = roles.find((r) => !(API_KEY_ROLES as readonly string[]).includes(r));
      if (unknown !== undefined || roles.length === 0) throw new KeysCommandError('invalid_role', `Roles must be among ${API_KEY_ROLES.join(', ')}.`);
      const services = opts.service === '*' ? ['*'] : list(opts.service ?? opts.name);
      const bad = services.find((s) => s !== '*' && !ServiceNameSchema.safeParse(s).success);
      if (bad !== undefined) throw new KeysCommandError('invalid_service', `'${bad}' is not a service name.`);
      const key = randomBytes(32).toString('base64url');
      const entry = `${opts.name}:${createHash('sha256').update(key, 'utf8').digest('hex')}:${roles.join('+')}:${services.join('+')}`;
      if (opts.out) {
        try {
          writeFileSync(opts.out, `${key}\n`, { mode: 0o600, flag: 'wx' });
        } catch (err) {
          throw new KeysCommandError('cannot_write_key', `Cannot write ${opts.out}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`);
        }
        console.log(`Key written to ${opts.out} (mode 0600).`);
      } else {
        console.log(`key: ${key}`);
      }
      console.log(`FEDGATE_API_KEYS entry: ${entry}`);
    });
}
