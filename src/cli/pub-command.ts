/**
 * `pipit pub`: publish messages, with the flags and exit codes of mosquitto_pub.
 *
 *   pipit pub {-t topic | -L url} {-m text | -f file | -s | -l | -n} [-q 0|1|2] [-r]
 *             [--repeat N [--repeat-delay s]] [-M max-inflight] [connection flags]
 *             [-l: --offline-queue N, reconnect flags]
 *
 * With -l it reconnects when the connection is lost (pub-lines.ts); a single message does not.
 * Exit codes: 0 sent (and acknowledged at QoS 1/2); see cli-errors.ts for the others.
 */
import type { Command } from 'commander';
import { addConnectionFlags } from './client-flags.js';
import { addReconnectFlags } from './reconnect-flags.js';

/** Registers `pipit pub`. */
export function registerPubCommand(program: Command): void {
  const cmd = program.command('pub').description('publish messages (like mosquitto_pub)');
  addReconnectFlags(addConnectionFlags(cmd))
    .option('-t, --topic <topic>', 'topic to publish to')
    .option('-m, --message <text>', 'message payload')
    .option('-f, --file <file>', 'send the contents of a file')
    .option('-s, --stdin-file', 'read the payload from stdin (all of it: one message)')
    .option('-l, --stdin-line', 'read stdin and send each line as a message')
    .option('-n, --null-message', 'send an empty payload')
    .option('-q, --qos <qos>', 'quality of service 0, 1 or 2', '0')
    .option('-r, --retain', 'retain the message')
    .option('--repeat <n>', 'send the message n times (with -m, -f, -s or -n)')
    .option('--repeat-delay <seconds>', 'wait this long between repeats (may be fractional)')
    .option('-M, --max-inflight <n>', 'most QoS 1/2 messages awaiting acknowledgement', '20')
    .option('--offline-queue <n>', 'with -l: most lines kept while reconnecting (default 1000)')
    .action(async (flags) => {
      // Loaded here, so that other commands do not load the client.
      const { runPub } = await import('./pub-run.js');
      process.exitCode = await runPub(flags);
    });
}
