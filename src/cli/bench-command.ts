/**
 * `pipit bench <scenario>`: the load generator, pointed at any MQTT broker.
 *
 *   pipit bench fanin|fanout|pairs|conn [-h host] [-p port] [-q 0|1|2] [-s bytes]
 *       [-n count] [-d seconds] [-w seconds] [--window n] [--rate msg/s] [-V 311|5]
 *       [-u user] [-P password] [--json] [--transport tcp|tls|ws|wss] [--ws-path /mqtt]
 *       [--cafile ca.pem] [--insecure] [--batch n] [--pace timer|spin]
 *
 * A progress bar on a terminal, a table at the end, or one JSON object with --json.
 * Ctrl-C (or SIGTERM) stops the run: the bar is removed and the cursor shown again, and
 * what was measured so far is printed; a second Ctrl-C quits at once.
 * Exit codes: 0 done, 1 failure (could not connect, bad option), 3 the run completed but
 * messages were lost (QoS 1/2), reordered, or duplicated where that is not allowed,
 * 130 interrupted. The run itself (bench-run.ts) is loaded when the command runs.
 */
import type { Command } from 'commander';
import { DEFAULT_COUNT, SCENARIOS } from '../bench/options.js';
import { TRANSPORTS } from '../bench/transport.js';
import type { BenchFlags } from './bench-outcome.js';

/** Registers `pipit bench`. */
export function registerBenchCommand(program: Command): void {
  const counts = SCENARIOS.map((s) => `${s} ${DEFAULT_COUNT[s]}`).join(', ');
  program
    .command('bench')
    .description('load-test an MQTT broker: throughput, latency, message checks, connections')
    .argument('<scenario>', `fanin (P publishers -> 1 subscriber), fanout (1 -> S), pairs, conn`)
    .helpOption('--help', 'display help for command')
    .option('-h, --host <host>', 'broker host', '127.0.0.1')
    .option('-p, --port <port>', 'broker port', '1883')
    .option('-q, --qos <qos>', 'quality of service 0, 1 or 2', '0')
    .option('-s, --size <bytes>', 'payload size (at least 20)', '64')
    .option('-n, --count <n>', `scale: publishers, subscribers, pairs or connections (${counts})`)
    .option('-d, --duration <seconds>', 'measured time (conn: how long to hold)', '10')
    .option('-w, --warmup <seconds>', 'unmeasured time before measuring', '2')
    .option('--window <n>', 'per publisher: most messages sent but not yet delivered', '100')
    .option('--rate <msg/s>', 'fixed total publish rate (for latency) instead of flat out')
    .option('-V, --protocol-version <v>', 'MQTT version: 311 or 5', '311')
    .option('-u, --username <name>', 'user name')
    .option('-P, --password <password>', 'password')
    .option('--json', 'print the result as one JSON object')
    .option('--no-progress', 'no progress bar')
    .option('--transport <t>', `how to reach the broker: ${TRANSPORTS.join(', ')}`, 'tcp')
    .option('--ws-path <path>', 'WebSocket path (ws, wss)', '/mqtt')
    .option('--cafile <file>', "PEM file of the CA that signed the broker's certificate (tls, wss)")
    .option('--insecure', "do not verify the broker's certificate (tls, wss)")
    .option('--batch <n>', 'least messages per publisher write (1: as soon as one is allowed)', '1')
    .option(
      '--pace <how>',
      'with --rate: timer (what is due every ~1 ms) or spin (each message at its own time, evenly spaced; takes a core)',
      'timer',
    )
    .action(async (scenario: string, flags: BenchFlags) => {
      const { runBenchCommand } = await import('./bench-run.js');
      process.exitCode = await runBenchCommand(scenario, flags);
    });
}
