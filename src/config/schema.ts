/**
 * The schema of Pipit's YAML configuration file (see docs/configuration.md). Every object is
 * strict: an unknown key is an error, because a typo that is silently ignored is a security
 * setting that silently does not apply. Messages say what was expected; the formatter adds
 * the key path and the value that was found.
 */
import { z } from 'zod';
import { isSupportedHash } from '../hooks/password-hash.js';
import { normalizeOrigin } from '../transport/ws-origin.js';
import { bridgesSchema } from './bridge-schema.js';
import { clusterSchema, storageSchema } from './redis-sections-schema.js';
import { bool, int, oneOf, seconds, size, text, UNBOUNDED } from './schema-fields.js';

/** Largest MQTT packet: a 4-byte Remaining Length of 268 435 455 plus the fixed header. */
const MAX_MQTT_PACKET = 268_435_460;
const UINT32 = 0xffffffff;

/** Listener types, in the order of the docs. */
export const LISTENER_TYPES = ['mqtt', 'mqtts', 'ws', 'wss', 'http', 'https'] as const;
/** Types that need `tls`. */
export const TLS_TYPES: ReadonlySet<string> = new Set(['mqtts', 'wss', 'https']);
/** Types that take a WebSocket `path`. */
export const WS_TYPES: ReadonlySet<string> = new Set(['ws', 'wss']);
/** Types that serve HTTP (metrics, health checks, the admin API), not MQTT. */
export const HTTP_TYPES: ReadonlySet<string> = new Set(['http', 'https']);

/** Auth settings; at the top level they are the defaults of every listener. */
const listenerAuthSchema = z.strictObject({
  allowAnonymous: bool().optional(),
  passwordFile: text().optional(),
  aclFile: text().optional(),
});

/** Login protection of the password file (see docs/configuration.md, "auth.login"). */
const loginSchema = z.strictObject({
  maxConcurrentHashes: int(1, 64).optional(),
  maxQueued: int(1, 100_000).optional(),
  freeFailures: int(1, 1000).optional(),
  failureDelay: seconds(3600).optional(),
  maxFailureDelay: seconds(86_400).optional(),
  cacheSize: int(0, 10_000_000, 'an integer 0-10000000 (0 = no cache)').optional(),
  cacheTtl: seconds(30 * 86_400).optional(),
});

const globalAuthSchema = listenerAuthSchema.extend({
  hookTimeoutMs: int(1, 600_000).optional(),
  bindClientIdToUser: bool().optional(),
  checkRetainSource: bool().optional(),
  login: loginSchema.optional(),
});

const ORIGIN_ERROR = 'expected an origin such as "https://example.com:8443", "null" or "*"';

const tlsSchema = z.strictObject({
  // Optional here so that a missing one is reported with the listener type (see config-checks.ts).
  cert: text().optional(),
  key: text().optional(),
  ca: text().optional(),
  minVersion: oneOf(['TLSv1.2', 'TLSv1.3']).optional(),
  requireCertificate: bool().optional(),
  identityFrom: oneOf(['cn', 'san']).optional(),
  useIdentityAsUsername: bool().optional(),
  ciphers: text().optional(),
});

const listenerSchema = z.strictObject({
  type: oneOf(LISTENER_TYPES).optional(),
  port: int(0, 65535).optional(),
  host: text().optional(),
  name: text().optional(),
  path: z
    .string({ error: 'expected a string' })
    .startsWith('/', { error: 'expected a path starting with "/"' })
    .optional(),
  tls: tlsSchema.optional(),
  auth: listenerAuthSchema.optional(),
  maxConnections: int(0, 10_000_000, 'an integer 0-10000000 (0 = no cap of its own)').optional(),
  allowedOrigins: z
    .array(
      z
        .string({ error: ORIGIN_ERROR })
        .refine((entry) => normalizeOrigin(entry) !== undefined, { error: ORIGIN_ERROR }),
      { error: 'expected a list of origins' },
    )
    .optional(),
  // ws and wss listeners only (see checks.ts): the largest WebSocket message accepted.
  maxFrameSize: size(1024, 2 ** 30).optional(),
  // http and https listeners only (see checks.ts).
  maxBodySize: size(1, 2 ** 30).optional(),
  requestTimeout: seconds(3600).optional(),
  maxConnectionsPerAddress: int(0, 10_000_000, 'an integer 0-10000000 (0 = no cap)').optional(),
  headersTimeout: seconds(3600).optional(),
  keepAliveTimeout: seconds(3600).optional(),
  maxHeaderSize: size(1024, 1024 * 1024).optional(),
});

const limitsSchema = z.strictObject({
  maxPacketSize: size(2, MAX_MQTT_PACKET).optional(),
  receiveMaximum: int(1, 65535).optional(),
  maxInflight: int(1, 65535).optional(),
  maxQueuedMessages: int(0, 100_000_000).optional(),
  maxQueuedBytes: size(0, UNBOUNDED).optional(),
  maxSocketBuffer: size(0, UNBOUNDED).optional(),
  topicAliasMaximum: int(0, 65535).optional(),
  maxSessionExpiry: int(0, UINT32, 'a number of seconds 0-4294967295').optional(),
  maxKeepAlive: int(0, 65535, 'a number of seconds 0-65535 (0 = no cap)').optional(),
  connectTimeout: z
    .number({ error: 'expected a number of seconds greater than 0' })
    .positive({ error: 'expected a number of seconds greater than 0' })
    .max(3600, { error: 'expected a number of seconds greater than 0, at most 3600' })
    .optional(),
  maxRetainedMessages: int(0, 100_000_000).optional(),
  maxSubscriptionsPerClient: int(1, 10_000_000).optional(),
  maxRetainedBytes: size(0, UNBOUNDED).optional(),
  maxConnections: int(0, 10_000_000, 'an integer 0-10000000 (0 = no cap)').optional(),
  maxTopicLength: int(1, 65535).optional(),
  maxTopicLevels: int(1, 65535).optional(),
  maxPublishRate: z
    .number({ error: 'expected a number of messages per second ≥ 0 (0 = no limit)' })
    .min(0, { error: 'expected a number of messages per second ≥ 0 (0 = no limit)' })
    .max(1_000_000, { error: 'expected a number of messages per second ≥ 0, at most 1000000' })
    .optional(),
  outputStallTimeout: z
    .number({ error: 'expected a number of seconds ≥ 0 (0 = never)' })
    .min(0, { error: 'expected a number of seconds ≥ 0 (0 = never)' })
    .max(86_400, { error: 'expected a number of seconds ≥ 0 (0 = never), at most 86400' })
    .optional(),
  qos0DrainWait: z
    .number({ error: 'expected a number of seconds ≥ 0 (0 = never hold a publisher)' })
    .min(0, { error: 'expected a number of seconds ≥ 0 (0 = never hold a publisher)' })
    .max(60, { error: 'expected a number of seconds ≥ 0, at most 60' })
    .optional(),
  maxConnectionsPerAddress: int(0, 10_000_000, 'an integer 0-10000000 (0 = no cap)').optional(),
  addressLimitsOnLoopback: bool().optional(),
  memoryBudget: size(1024 * 1024, UNBOUNDED).optional(),
  maxQueuedMessagesTotal: int(0, 1_000_000_000).optional(),
  v3SessionExpiry: int(
    0,
    UINT32,
    'a number of seconds 0-4294967295 (4294967295 = never)',
  ).optional(),
});

const mqttSchema = z.strictObject({
  maximumQoS: z
    .union([z.literal(0), z.literal(1), z.literal(2)], { error: 'expected 0, 1 or 2' })
    .optional(),
  retainAvailable: bool().optional(),
  queueQos0Offline: bool().optional(),
  assignedClientIdPrefix: z.string({ error: 'expected a string' }).optional(),
  redirect: z
    .strictObject({
      serverReference: z
        .string({ error: 'expected a server reference such as "other-host:1883"' })
        .min(1, { error: 'expected a server reference such as "other-host:1883"' }),
      permanent: bool().optional(),
    })
    .optional(),
});

/** Log levels pino understands. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Log formats: pino-pretty's lines for people, or JSON lines for machines. */
export const LOG_FORMATS = ['pretty', 'json'] as const;
/** How often `log.file` starts a new file besides its size (pino-roll's frequency). */
export const LOG_FREQUENCIES = ['daily', 'hourly', 'never'] as const;

/** Rotation of `log.file` (see docs/operations.md). */
const logRotateSchema = z.strictObject({
  size: size(0, UNBOUNDED).optional(),
  frequency: oneOf(LOG_FREQUENCIES).optional(),
  keep: int(1, 100_000, 'a number of rotated files 1-100000').optional(),
});

const logSchema = z.strictObject({
  level: oneOf(LOG_LEVELS).optional(),
  format: oneOf(LOG_FORMATS).optional(),
  file: text().optional(),
  rotate: logRotateSchema.optional(),
  stdout: bool().optional(),
});

/** `sysInterval`: seconds between `$SYS` updates (same bound as the embedded option). */
const SYS_INTERVAL_ERROR = 'expected a number of seconds 0-86400 (0 = no $SYS topics)';
const sysIntervalSchema = z
  .number({ error: SYS_INTERVAL_ERROR })
  .min(0, { error: SYS_INTERVAL_ERROR })
  .max(86_400, { error: SYS_INTERVAL_ERROR });

const TOKEN_HASH_ERROR =
  'expected a token hash as `pipit token` prints it ($pbkdf2-sha512$..., or $7$ / $6$); ' +
  'the value is not shown: it may be a token';

/** One admin API token: a name for the logs, the token's hash, what it may do. */
const adminTokenSchema = z.strictObject({
  name: text(),
  // Checked without echoing the value (it might be the token itself, pasted by mistake).
  hash: z.unknown().transform((value, ctx) => {
    if (typeof value !== 'string' || !isSupportedHash(value)) {
      ctx.addIssue({ code: 'custom', message: TOKEN_HASH_ERROR, input: '(hidden)' });
      return z.NEVER;
    }
    return value;
  }),
  scope: oneOf(['read', 'full']).optional(),
});

/** The admin HTTP API (docs/operations.md). */
const adminApiSchema = z.strictObject({
  tokens: z
    .array(adminTokenSchema, { error: 'expected a list of tokens ({ name, hash, scope })' })
    .superRefine((tokens, ctx) => {
      const seen = new Set<string>();
      for (const [index, token] of tokens.entries()) {
        if (seen.has(token.name)) {
          ctx.addIssue({
            code: 'custom',
            path: [index, 'name'],
            message: 'expected a name no other token has',
            input: token.name,
          });
        }
        seen.add(token.name);
      }
    })
    .optional(),
  maxBodySize: size(1024, 256 * 1024 * 1024).optional(),
  // The dashboard at / (docs/dashboard.md) and the live tap it reads.
  dashboard: bool().optional(),
  tap: z
    .strictObject({
      maxTaps: int(0, 1000).optional(),
      maxRate: int(1, 100_000).optional(),
    })
    .optional(),
});

/** Which of prom-client's default metrics `/metrics` serves (docs/operations.md). */
const metricsSchema = z.strictObject({
  process: bool().optional(),
  handles: bool().optional(),
});

/** The whole file. Every section is optional; an empty file is a valid configuration. */
export const configSchema = z.strictObject(
  {
    listeners: z
      .array(listenerSchema, { error: 'expected a list of listeners' })
      .min(1, { error: 'expected at least one listener' })
      .optional(),
    auth: globalAuthSchema.optional(),
    limits: limitsSchema.optional(),
    mqtt: mqttSchema.optional(),
    storage: storageSchema.optional(),
    log: logSchema.optional(),
    bridges: bridgesSchema.optional(),
    cluster: clusterSchema.optional(),
    adminApi: adminApiSchema.optional(),
    sysInterval: sysIntervalSchema.optional(),
    metrics: metricsSchema.optional(),
  },
  {
    error:
      'expected a mapping of sections (listeners, auth, limits, mqtt, storage, log, bridges, cluster, adminApi, metrics)',
  },
);

/** A validated configuration file (before defaults are applied). */
export type PipitConfig = z.output<typeof configSchema>;
/** One validated `listeners` entry. */
export type ListenerConfig = NonNullable<PipitConfig['listeners']>[number];
/** `auth` of a listener, or the global one. */
export type AuthConfig = z.output<typeof globalAuthSchema>;
/** The schema of a port, shared with the --port flag and PIPIT_PORT. */
export const portSchema = int(0, 65535);
/** The schema of a log level, shared with --log-level and PIPIT_LOG_LEVEL. */
export const logLevelSchema = oneOf(LOG_LEVELS);
/** The schema of a host, shared with --host and PIPIT_HOST. */
export const hostSchema = text();
/** The schema of `sysInterval`, shared with --sys-interval. */
export { sysIntervalSchema };
