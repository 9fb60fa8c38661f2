/**
 * `pipit sub`: subscribe and print messages, with the flags and exit codes of mosquitto_sub.
 *
 *   pipit sub {-t filter ... | -L url} [-q 0|1|2] [-v | -F format] [-N] [--pretty]
 *             [-C count] [-W seconds] [-E] [-R | --retained-only] [--remove-retained]
 *             [-T filter ...] [-U filter ...] [connection flags] [reconnect flags]
 *
 * It reconnects when the connection is lost (jittered backoff from --reconnect-delay up to
 * --max-reconnect-delay, along --failover addresses) and subscribes again; with -c the broker's
 * queued messages are printed on resuming. Exit codes: 0 after -C messages, -E, the first
 * fresh message with --retained-only, or Ctrl-C; 27 when -W runs out; see cli-errors.ts.
 */
import type { Command } from 'commander';
import { addConnectionFlags } from './client-flags.js';
import { EXIT_TIMEOUT } from './exit-codes.js';
import { addReconnectFlags } from './reconnect-flags.js';

const repeatable = (v: string, prev: string[] = []): string[] => [...prev, v];

/** Registers `pipit sub`. */
export function registerSubCommand(program: Command): void {
  const cmd = program
    .command('sub')
    .description('subscribe and print messages (like mosquitto_sub)');
  addReconnectFlags(addConnectionFlags(cmd))
    .option('-t, --topic <filter>', 'topic filter to subscribe to (repeatable)', repeatable)
    .option(
      '-T, --filter-out <filter>',
      'do not print messages matching this (repeatable)',
      repeatable,
    )
    .option(
      '-U, --unsubscribe <filter>',
      'unsubscribe from this after subscribing (repeatable)',
      repeatable,
    )
    .option('-q, --qos <qos>', 'maximum quality of service 0, 1 or 2', '0')
    .option('-v, --verbose', 'print "topic payload" instead of the payload alone')
    .option('-F, --format <format>', 'output format (%t topic, %p payload, %j JSON, ...)')
    .option('-N, --omit-newline', 'do not print a newline after each message')
    .option('--pretty', 'print JSON (-F %j, %J) over several lines')
    .option('-C, --count <n>', 'exit after printing n messages')
    .option('-W, --timeout <seconds>', `exit with code ${EXIT_TIMEOUT} after this many seconds`)
    .option('-E, --exit-after-subscribe', 'exit once the subscriptions are acknowledged')
    .option('-R, --skip-retained', 'do not print retained (stale) messages')
    .option('--retained-only', 'print only retained messages; exit at the first fresh one')
    .option('--remove-retained', 'clear every retained message received (not those of -T)')
    .option('--retain-as-published', 'MQTT 5: keep the retain flag as published')
    .action(async (flags) => {
      // Loaded here, so that other commands do not load the client and the output code.
      const { runSub } = await import('./sub-run.js');
      process.exitCode = await runSub(flags);
    });
}
