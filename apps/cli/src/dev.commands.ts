import type { Command } from 'commander';
import { approveDeviceLogin, approveKeycloakDeviceLogin } from '@fedgate/dev-idp';
import { readStackFile } from '@fedgate/stack';

/** `fedgate dev …`: helpers for the local development stack. */
export function registerDevCommands(program: Command): void {
  const dev = program.command('dev').description('local development stack helpers');

  dev
    .command('approve')
    .description("complete the IdP's sign-in step for a device login, without a browser (the dev IdP, or a Keycloak realm)")
    .requiredOption('--user-code <code>', 'the user code shown by `flwr login` / `fedgate login`')
    .requiredOption('--username <name>', 'a dev IdP user (see .fedgate/stack.json)')
    .requiredOption('--password <password>', "that user's password")
    .option('--deny', 'press Cancel instead of signing in')
    .option('--issuer <url>', 'the IdP issuer (default: from .fedgate/stack.json)')
    .action(async (opts: { userCode: string; username: string; password: string; deny?: boolean; issuer?: string }) => {
      const issuer = opts.issuer ?? readStackFile().idp.issuer;
      // a Keycloak realm's issuer is https://host/realms/<realm> (scripts/infra/keycloak.sh's, or your own)
      const approve = new URL(issuer).pathname.startsWith('/realms/') ? approveKeycloakDeviceLogin : approveDeviceLogin;
      const result = await approve({ issuer, userCode: opts.userCode, username: opts.username, password: opts.password, deny: opts.deny });
      console.log(result.outcome === 'approved' ? `Approved: ${opts.username} signed in for code ${opts.userCode}.` : `Denied: sign-in for code ${opts.userCode} was cancelled.`);
    });
}
