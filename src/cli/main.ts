/**
 * The `pipit` command: broker, passwd (and pub, sub, bench as they land).
 */
import { Command } from 'commander';
import { registerBrokerCommand } from './broker-command.js';
import { registerPasswdCommand } from './passwd-command.js';

const program = new Command();
program.name('pipit').description('Pipit: an MQTT 3.1, 3.1.1 and 5.0 broker').showHelpAfterError();
registerBrokerCommand(program);
registerPasswdCommand(program);
await program.parseAsync(process.argv);
