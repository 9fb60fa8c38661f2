/**
 * The `pipit` command: broker, pub, sub, passwd, bench, token, and `--version`.
 */
import { Command } from 'commander';
import { registerBenchCommand } from './bench-command.js';
import { registerBrokerCommand } from './broker-command.js';
import { registerPasswdCommand } from './passwd-command.js';
import { registerPubCommand } from './pub-command.js';
import { registerSubCommand } from './sub-command.js';
import { registerTokenCommand } from './token-command.js';
import { packageVersion } from './version.js';

const program = new Command();
program
  .name('pipit')
  .description('Pipit: an MQTT 3.1, 3.1.1 and 5.0 broker')
  .version(packageVersion(), '--version', 'print the version and exit')
  .showHelpAfterError("(run 'pipit <command> --help' for the options)");
registerBrokerCommand(program);
registerPubCommand(program);
registerSubCommand(program);
registerPasswdCommand(program);
registerBenchCommand(program);
registerTokenCommand(program);
await program.parseAsync(process.argv);
