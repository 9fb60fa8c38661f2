/**
 * `pipit broker`: runs a broker from a configuration file (optional), flags and environment
 * variables, until SIGINT/SIGTERM. SIGHUP reloads the password and ACL files and the TLS
 * certificates. `--test-config` only validates.
 */
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import pino from 'pino';
import { type Broker, createBroker } from '../broker.js';
import {
  type BrokerPlan,
  ConfigError,
  configToPlan,
  type LogLevel,
  loadConfigFile,
  loadSecurity,
  mergeOverrides,
  type Overrides,
  type PipitConfig,
  parseLogLevel,
  parsePortText,
  readEnvOverrides,
  type Security,
  toListenerOptions,
} from '../config/index.js';
import type { Logger } from '../ports/index.js';

/** Parses a TCP port option. */
function parsePort(value: string): number {
  const port = parsePortText(value);
  if (port === undefined) {
    throw new InvalidArgumentError(`"${value}" is not a port number (0-65535)`);
  }
  return port;
}

function parseLevel(value: string): LogLevel {
  const level = parseLogLevel(value);
  if (level === undefined) {
    throw new InvalidArgumentError(
      `"${value}" is not a log level (fatal, error, warn, info, debug, trace, silent)`,
    );
  }
  return level;
}

/** The command's options as commander hands them over. */
interface BrokerFlags {
  config?: string;
  testConfig?: boolean;
  port?: number;
  host?: string;
  memory?: boolean;
  dataDir?: string;
  logLevel?: LogLevel;
}

/** Reads the file (if any), applies env and flags, loads the security files. */
async function prepare(
  flags: BrokerFlags,
  logger?: Logger,
): Promise<{ plan: BrokerPlan; security: Security }> {
  const cwd = process.cwd();
  const overrides: Overrides = mergeOverrides(
    {
      port: flags.port,
      host: flags.host,
      memory: flags.memory,
      dataDir: flags.dataDir,
      logLevel: flags.logLevel,
    },
    readEnvOverrides(process.env),
  );
  const file = flags.config === undefined ? undefined : resolve(cwd, flags.config);
  const config: PipitConfig = file === undefined ? {} : await loadConfigFile(file);
  const plan = configToPlan(config, { baseDir: file ? dirname(file) : cwd, cwd, overrides });
  const security = await loadSecurity(plan.listeners, {
    hookTimeoutMs: plan.hookTimeoutMs,
    logger,
  });
  return { plan, security };
}

function reportConfigError(err: unknown, file: string | undefined): never {
  if (!(err instanceof ConfigError)) throw err;
  const where = file === undefined ? '' : ` in ${file}`;
  process.stderr.write(`pipit broker: invalid configuration${where}:\n`);
  for (const problem of err.problems) process.stderr.write(`  ${problem}\n`);
  process.exit(1);
}

/** Opens every listener; on a failure closes what is open and rethrows. */
async function listenAll(broker: Broker, plan: BrokerPlan): Promise<void> {
  try {
    for (const { listen } of plan.listeners) await broker.listen(toListenerOptions(listen));
  } catch (err) {
    await broker.close();
    throw err;
  }
}

/** SIGHUP: password and ACL files, then TLS certificates. Errors are logged, never fatal. */
async function reloadAll(broker: Broker, security: Security, logger: Logger): Promise<void> {
  logger.info({}, 'SIGHUP: reloading password, ACL and TLS files');
  await security.reload();
  try {
    await broker.reloadTls();
  } catch (err) {
    logger.error({ err }, 'could not reload the TLS files; keeping the previous ones');
  }
}

async function runBroker(flags: BrokerFlags): Promise<void> {
  // Parse the level first (env or flag) so that loading can already log, e.g. ACL warnings.
  let prepared: { plan: BrokerPlan; security: Security };
  let logger: Logger;
  try {
    const early = mergeOverrides({ logLevel: flags.logLevel }, readEnvOverrides(process.env));
    const bootstrap = pino({
      level: early.logLevel ?? 'info',
      base: undefined,
    }) as unknown as Logger;
    prepared = await prepare(flags, bootstrap);
    logger = pino({ level: prepared.plan.logLevel, base: undefined }) as unknown as Logger;
  } catch (err) {
    reportConfigError(err, flags.config);
  }
  const { plan, security } = prepared;
  const broker = createBroker({ ...plan.options, logger });
  for (const hook of security.hooks) broker.addHook(hook);
  try {
    await broker.start();
  } catch (err) {
    process.stderr.write(`pipit broker: ${(err as Error).message}\n`);
    process.exit(1);
  }
  try {
    await listenAll(broker, plan);
  } catch (err) {
    process.stderr.write(`pipit broker: cannot listen: ${(err as Error).message}\n`);
    process.exit(1);
  }
  for (const notice of plan.notices) logger[notice.level]({}, notice.message);
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await broker.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGHUP', () => void reloadAll(broker, security, logger));
}

async function testConfig(flags: BrokerFlags): Promise<void> {
  try {
    await prepare(flags);
  } catch (err) {
    reportConfigError(err, flags.config);
  }
  process.stdout.write('configuration OK\n');
  process.exit(0);
}

/** Registers `broker` on the root program. */
export function registerBrokerCommand(program: Command): void {
  program
    .command('broker')
    .description('run the MQTT broker')
    .option('-c, --config <file>', 'YAML configuration file (see pipit.example.yaml)')
    .option('--test-config', 'validate the configuration (and the files it names), then exit')
    .option(
      '-p, --port <port>',
      'port of the first listener (default 1883) [env PIPIT_PORT]',
      parsePort,
    )
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
      parseLevel,
    )
    .addHelpText(
      'after',
      '\nPrecedence: flags > environment variables > configuration file > defaults.\nSIGHUP reloads the password file, the ACL file and the TLS certificates.',
    )
    .action(async (flags: BrokerFlags) => {
      if (flags.testConfig === true) await testConfig(flags);
      else await runBroker(flags);
    });
}
