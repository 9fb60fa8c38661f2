/**
 * `pipit broker`: the command's flags. What it runs lives in broker-run.ts, loaded only when
 * the command runs, so that other commands start without loading the broker.
 */
import type { Command } from 'commander';
import type { BrokerFlags } from './broker-run.js';

/** Registers `broker` on the root program. */
export function registerBrokerCommand(program: Command): void {
  const command: Command = program
    .command('broker')
    .description('run the MQTT broker')
    .option('-c, --config <file>', 'YAML configuration file (see pipit.example.yaml)')
    .option('--test-config', 'validate the configuration (and the files it names), then exit')
    .option('-p, --port <port>', 'port of the first listener (default 1883) [env PIPIT_PORT]')
    .option(
      '-H, --host <host>',
      'interface of the first listener, 0.0.0.0 for every one (default 127.0.0.1) [env PIPIT_HOST]',
    )
    .option('--memory', 'keep everything in memory (no persistence)')
    .option(
      '--data-dir <dir>',
      'directory of the SQLite store (default ./data) [env PIPIT_DATA_DIR]',
    )
    .option(
      '--log-level <level>',
      'fatal, error, warn, info, debug, trace or silent [env PIPIT_LOG_LEVEL]',
    )
    .option(
      '--cluster <url>',
      'join the cluster of nodes sharing this Redis, e.g. redis://127.0.0.1:6379 (or unix:///run/redis/redis.sock on this host); on a Redis Cluster the seed nodes come from cluster.nodes in the file (docs/cluster.md)',
    )
    .option(
      '--sys-interval <seconds>',
      'seconds between updates of the $SYS topics, 0 for none (default 10)',
    )
    .option(
      '--nodes <count>',
      'with --cluster: run this many cluster nodes on the listening ports, "auto" for one per core (docs/cluster.md)',
    )
    .addHelpText(
      'after',
      '\nPrecedence: flags > environment variables > configuration file > defaults.\nSIGHUP reloads the password file, the ACL file, the TLS certificates and the admin API tokens.',
    );
  command.action(async (flags: BrokerFlags) => {
    const run = await import('./broker-run.js');
    let parsed: ReturnType<typeof run.parseBrokerFlags>;
    try {
      parsed = run.parseBrokerFlags(flags);
    } catch (err) {
      command.error(`pipit broker: ${(err as Error).message}`, { exitCode: 1 });
    }
    if (flags.testConfig === true) await run.testConfig(parsed);
    else await run.runBroker(parsed);
  });
}
