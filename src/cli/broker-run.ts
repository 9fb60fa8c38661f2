/**
 * What `pipit broker` does once its flags are parsed: run a broker from a configuration file
 * (optional), flags and environment variables until SIGINT/SIGTERM (SIGHUP reloads the
 * password and ACL files and the TLS certificates), or with `--test-config` only validate.
 * Loaded only when `broker` runs: the broker, its store and the config schema take a while to
 * load, and `pipit pub` should not pay for them.
 */
import { dirname, resolve } from 'node:path';
import pino from 'pino';
import { type Broker, createBroker, DEFAULT_SYS_INTERVAL } from '../broker.js';
import {
  type BrokerPlan,
  ConfigError,
  clusterUrlProblem,
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
  sysIntervalSchema,
  toHttpListenerOptions,
  toListenerOptions,
} from '../config/index.js';
import { createDashboardRoute } from '../http/dashboard/index.js';
import { packageVersion } from '../ops/index.js';
import type { Logger } from '../ports/index.js';
import { configuredAdminApi } from './admin-route.js';
import {
  isNodeWorker,
  nodesRefusal,
  parseNodesFlag,
  reportNodeReady,
  superviseNodes,
} from './broker-nodes.js';
import { createBrokerLogger } from './log-setup.js';

/** The command's options as commander hands them over (port and level still text). */
export interface BrokerFlags {
  config?: string;
  testConfig?: boolean;
  port?: string;
  host?: string;
  memory?: boolean;
  dataDir?: string;
  logLevel?: string;
  cluster?: string;
  sysInterval?: string;
  nodes?: string;
}

/** Flags with the port, log level, $SYS interval and node count parsed. */
interface ParsedFlags extends Omit<BrokerFlags, 'port' | 'logLevel' | 'sysInterval' | 'nodes'> {
  port?: number;
  logLevel?: LogLevel;
  sysInterval?: number;
  nodes?: number;
}

/** Parses a TCP port option. */
function parsePort(value: string): number {
  const port = parsePortText(value);
  if (port === undefined) {
    throw new Error(`--port: "${value}" is not a port number (0-65535)`);
  }
  return port;
}

function parseLevel(value: string): LogLevel {
  const level = parseLogLevel(value);
  if (level === undefined) {
    throw new Error(
      `--log-level: "${value}" is not a log level (fatal, error, warn, info, debug, trace, silent)`,
    );
  }
  return level;
}

function parseSysInterval(value: string): number {
  const seconds = value.trim() === '' ? Number.NaN : Number(value);
  if (!sysIntervalSchema.safeParse(seconds).success) {
    throw new Error(
      `--sys-interval: "${value}" is not a number of seconds 0-86400 (0 = no $SYS topics)`,
    );
  }
  return seconds;
}

/**
 * Parses the port, log level and $SYS interval flags.
 * @throws Error naming the flag and the value.
 */
export function parseBrokerFlags(flags: BrokerFlags): ParsedFlags {
  const parsed: ParsedFlags = {
    ...flags,
    port: undefined,
    logLevel: undefined,
    sysInterval: undefined,
    nodes: undefined,
  };
  if (flags.port !== undefined) parsed.port = parsePort(flags.port);
  if (flags.logLevel !== undefined) parsed.logLevel = parseLevel(flags.logLevel);
  if (flags.cluster !== undefined) checkClusterFlag(flags.cluster);
  if (flags.sysInterval !== undefined) parsed.sysInterval = parseSysInterval(flags.sysInterval);
  if (flags.nodes !== undefined) parsed.nodes = parseNodesFlag(flags.nodes);
  return parsed;
}

/**
 * Checks --cluster's URL: redis://, rediss:// or a well-formed unix:// socket.
 * @throws Error naming the flag and the value.
 */
function checkClusterFlag(url: string): void {
  const wrong = clusterUrlProblem(url);
  if (wrong === undefined) return;
  throw new Error(
    // A unix:// problem names the URL (its password hidden) and what is wrong in it.
    /^unix:/i.test(url)
      ? `--cluster: ${wrong}`
      : `--cluster: "${url}" is not a Redis URL (redis://host:port, rediss://host:port or unix:///path/to/redis.sock)`,
  );
}

/** Reads the file (if any), applies env and flags, loads the security files. */
async function prepare(
  flags: ParsedFlags,
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
      cluster: flags.cluster,
      sysInterval: flags.sysInterval,
    },
    readEnvOverrides(process.env),
  );
  const file = flags.config === undefined ? undefined : resolve(cwd, flags.config);
  const config: PipitConfig = file === undefined ? {} : await loadConfigFile(file);
  const plan = configToPlan(config, { baseDir: file ? dirname(file) : cwd, cwd, overrides });
  const security = await loadSecurity(plan.listeners, {
    hookTimeoutMs: plan.hookTimeoutMs,
    logger,
    login: plan.login,
    bridgeAuth: plan.bridgeAuth,
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

/** Opens every MQTT listener; on a failure closes what is open and rethrows. */
async function listenAll(broker: Broker, plan: BrokerPlan): Promise<void> {
  try {
    for (const { listen } of plan.listeners) await broker.listen(toListenerOptions(listen));
  } catch (err) {
    await broker.close();
    throw err;
  }
}

/**
 * Opens the HTTP listeners before the store, so that `/healthz` answers and `/readyz` says
 * "restoring" during a long start; exits 1 when one cannot listen.
 */
async function listenHttp(broker: Broker, plan: BrokerPlan): Promise<void> {
  try {
    for (const spec of plan.httpListeners) await broker.listen(toHttpListenerOptions(spec));
  } catch (err) {
    process.stderr.write(`pipit broker: cannot listen: ${(err as Error).message}\n`);
    await broker.close();
    process.exit(1);
  }
}

/** Where the store is, as the start banner says it. */
function describeStore(plan: BrokerPlan): string {
  const persistence = plan.options.persistence;
  if (persistence.kind === 'memory') return 'memory (nothing survives a restart)';
  if (persistence.kind === 'redis') return `redis (prefix ${persistence.prefix ?? 'pipit:'})`;
  return `sqlite ${persistence.dataDir} (durability ${persistence.durability})`;
}

/** The start banner: what runs, on which Node, where it listens, where it keeps its state. */
function logBanner(broker: Broker, plan: BrokerPlan, logger: Logger): void {
  const version = packageVersion();
  logger.info(
    {
      name: 'pipit',
      version,
      node: process.version,
      pid: process.pid,
      listeners: broker.addresses.map((address) => address.url),
      store: describeStore(plan),
      sysInterval: plan.options.sysInterval ?? DEFAULT_SYS_INTERVAL,
    },
    `pipit ${version} running`,
  );
}

/** `--nodes` without a cluster (or with a fixed node id): the message, exit 1. */
function refuseNodesIfUnfit(nodes: number, plan: BrokerPlan): void {
  const refusal = nodesRefusal(nodes, plan.options.cluster);
  if (refusal === undefined) return;
  process.stderr.write(`pipit broker: ${refusal}\n`);
  process.exit(1);
}

/** Runs the broker until SIGINT/SIGTERM; exits 1 with a message when it cannot start. */
export async function runBroker(flags: ParsedFlags): Promise<void> {
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
  } catch (err) {
    reportConfigError(err, flags.config);
  }
  try {
    logger = createBrokerLogger(prepared.plan.logLevel, prepared.plan.log);
  } catch (err) {
    process.stderr.write(`pipit broker: ${(err as Error).message}\n`);
    process.exit(1);
  }
  const { plan, security } = prepared;
  if (flags.nodes !== undefined && !isNodeWorker()) {
    refuseNodesIfUnfit(flags.nodes, plan);
    superviseNodes(flags.nodes, logger);
    return;
  }
  const broker = createBroker({ ...plan.options, logger });
  security.loginGuard.reportTo(broker.core.refusals);
  for (const hook of security.hooks) broker.addHook(hook);
  // The admin API answers on every HTTP listener (refusing all requests when no token is set).
  const configFile = flags.config === undefined ? undefined : resolve(process.cwd(), flags.config);
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    if ((signal === 'SIGTERM' || signal === 'admin API drain') && broker.cluster) {
      // A cluster node drains: its clients go to a peer, their sessions stay in the store.
      await broker.drain().catch(async (err: unknown) => {
        logger.error({ err: String(err) }, 'cluster: drain failed');
        await broker.close();
      });
    } else {
      await broker.close();
    }
    process.exit(0);
  };
  // POST /drain on a cluster node does what SIGTERM does there.
  const drain = broker.cluster
    ? { draining: () => stopping, begin: () => void stop('admin API drain') }
    : undefined;
  const adminApi = configuredAdminApi({ broker, plan, security, logger, configFile, drain });
  broker.addHttpRoute(adminApi.route);
  // The dashboard, at /, calls that API with the token its user types in (docs/dashboard.md).
  if (plan.adminApi.dashboard !== false) broker.addHttpRoute(createDashboardRoute());
  await listenHttp(broker, plan);
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
  logBanner(broker, plan, logger);
  reportNodeReady();
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  // The admin API's POST /reload runs the same reload (see admin-route.ts).
  process.on('SIGHUP', () => void adminApi.reload('SIGHUP'));
}

/** What --test-config shows of the log: the warnings, one `warning: ...` line each on stderr. */
function warningsToStderr(): Logger {
  const logger: Logger = {
    error: (_fields, message) => process.stderr.write(`error: ${message}\n`),
    warn: (_fields, message) => process.stderr.write(`warning: ${message}\n`),
    info: () => {},
    debug: () => {},
    child: () => logger,
  };
  return logger;
}

/** `--test-config`: loads and checks everything, prints `configuration OK` or the problems. */
export async function testConfig(flags: ParsedFlags): Promise<void> {
  let prepared: { plan: BrokerPlan; security: Security };
  try {
    // ACL lines that look wrong, and ACL rules that no authentication backs, are warned about.
    prepared = await prepare(flags, warningsToStderr());
  } catch (err) {
    reportConfigError(err, flags.config);
  }
  if (flags.nodes !== undefined) refuseNodesIfUnfit(flags.nodes, prepared.plan);
  process.stdout.write('configuration OK\n');
  process.exit(0);
}
