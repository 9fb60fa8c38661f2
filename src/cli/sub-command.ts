/**
 * `pipit sub`: subscribe and print messages, like mosquitto_sub.
 *
 *   pipit sub -t filter [-t filter ...] [-h host] [-p port] [-q 0|1|2] [-v] [-C count]
 *             [-W seconds] [-c] [-i id] [-u user] [-P password] [-V 311|5|31] [--tls ...]
 *
 * Prints each payload on its own line, or `topic payload` with -v. Exit codes: 0 after -C
 * messages or on Ctrl-C, 1 on failure (connection, refused subscription), 27 when -W
 * seconds pass without the expected messages (as mosquitto_sub).
 */
import type { Command } from 'commander';
import { connect, type MqttClient } from '../client/index.js';
import {
  addConnectionOptions,
  type ConnectionFlags,
  parseIntFlag,
  parseQos,
  toClientOptions,
} from './pub-command.js';

interface SubFlags extends ConnectionFlags {
  topic: string[];
  qos: string;
  verbose?: boolean;
  count?: string;
  timeout?: string;
  /** False with -c (commander's --no-clean). */
  clean?: boolean;
}

/** Exit code when -W runs out (mosquitto_sub uses the same). */
export const EXIT_TIMEOUT = 27;

/**
 * Prints messages until -C is reached, -W runs out, a signal arrives or the connection
 * closes; resolves with the exit code. `quiet()` true: a close is expected, say nothing.
 */
function waitForEnd(client: MqttClient, f: SubFlags, quiet: () => boolean): Promise<number> {
  const limit = f.count === undefined ? 0 : parseIntFlag('count', f.count, 1, 2 ** 31);
  const seconds = f.timeout === undefined ? 0 : parseIntFlag('timeout', f.timeout, 1, 2 ** 31);
  return new Promise((resolve) => {
    let received = 0;
    const timer = seconds > 0 ? setTimeout(() => resolve(EXIT_TIMEOUT), seconds * 1000) : undefined;
    const finish = (code: number): void => {
      if (timer) clearTimeout(timer);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(code);
    };
    const onSignal = (): void => finish(0);
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    client.on('message', (topic, payload) => {
      if (limit > 0 && received >= limit) return;
      received++;
      const line = f.verbose ? `${topic} ${payload.toString()}` : payload.toString();
      process.stdout.write(`${line}\n`);
      if (limit > 0 && received >= limit) finish(0);
    });
    client.on('close', (err) => {
      if (!quiet())
        process.stderr.write(`Error: connection lost${err ? `: ${err.message}` : ''}\n`);
      finish(1);
    });
  });
}

/** Runs `sub` with parsed flags; resolves with the exit code. */
export async function runSub(f: SubFlags): Promise<number> {
  let client: MqttClient | undefined;
  let closing = false;
  try {
    const qos = parseQos(f.qos);
    client = await connect({ ...toClientOptions(f), clean: f.clean !== false });
    // Listen before subscribing: a retained message can arrive in the same chunk as SUBACK.
    const ended = waitForEnd(client, f, () => closing);
    const codes = await client.subscribe(f.topic, { qos });
    const refused = f.topic.filter((_, i) => (codes[i] ?? 0x80) >= 0x80);
    if (refused.length > 0) throw new Error(`subscription refused: ${refused.join(', ')}`);
    const code = await ended;
    closing = true;
    await client.end();
    return code;
  } catch (err) {
    process.stderr.write(`Error: ${(err as Error).message}\n`);
    closing = true;
    client?.destroy();
    return 1;
  }
}

/** Registers `pipit sub`. */
export function registerSubCommand(program: Command): void {
  const cmd = program
    .command('sub')
    .description('subscribe and print messages (like mosquitto_sub)');
  addConnectionOptions(cmd)
    .requiredOption(
      '-t, --topic <filter>',
      'topic filter to subscribe to (repeatable)',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option('-q, --qos <qos>', 'maximum quality of service 0, 1 or 2', '0')
    .option('-v, --verbose', 'print "topic payload" instead of the payload alone')
    .option('-C, --count <n>', 'exit after receiving n messages')
    .option('-W, --timeout <seconds>', `exit with code ${EXIT_TIMEOUT} after this many seconds`)
    .option('-c, --no-clean', 'keep the session (clean session / clean start off)')
    .action(async (flags: SubFlags) => {
      process.exitCode = await runSub(flags);
    });
}
