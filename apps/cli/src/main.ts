import { Command } from 'commander';
import { trustStackCertificateAuthorities } from '@fedgate/stack';
import { registerAuditCommands } from './audit.commands';
import { registerAuthzCommands } from './authz.commands';
import { registerDevCommands } from './dev.commands';
import { registerKeysCommands } from './keys.commands';
import { registerLoginCommand } from './login.command';

const program = new Command('fedgate')
  .description('Fedgate: login, authorization and audit for Flower SuperLinks')
  .version('0.1.0')
  .showHelpAfterError();

registerLoginCommand(program);
registerDevCommands(program);
registerAuditCommands(program);
registerAuthzCommands(program);
registerKeysCommands(program);

// the stack's own CA (from .fedgate/stack.json), so no NODE_EXTRA_CA_CERTS is needed; a stack
// file that cannot be read is left to the commands that need it to report
trustStackCertificateAuthorities()
  .catch(() => undefined)
  .then(() => program.parseAsync(process.argv))
  .catch((err: Error & { code?: string }) => {
  // errors are values with codes: print the code and a sentence, never a stack trace
  console.error(`error: ${err.code ?? 'failed'}: ${err.message}`);
  process.exitCode = 1;
});
