/**
 * `pipit sub`'s flags, checked and resolved before anything connects.
 */
import type { SubscriptionRequest } from '../protocol/packets.js';
import type { Properties } from '../protocol/properties.js';
import { validateTopicFilter } from '../protocol/topic-validation.js';
import {
  type ConnectionFlags,
  type ResolvedConnection,
  resolveConnection,
} from './client-flags.js';
import { parseIntFlag, parseQos, UsageError } from './flag-values.js';
import { type ReconnectFlags, type ReconnectPlan, resolveReconnect } from './reconnect-flags.js';
import { compileFormat } from './sub-format.js';
import type { OutputOptions } from './sub-output.js';

/** `sub`'s flags as commander hands them over. */
export interface SubFlags extends ConnectionFlags, ReconnectFlags {
  topic?: string[];
  filterOut?: string[];
  unsubscribe?: string[];
  qos: string;
  verbose?: boolean;
  format?: string;
  omitNewline?: boolean;
  pretty?: boolean;
  count?: string;
  timeout?: string;
  exitAfterSubscribe?: boolean;
  skipRetained?: boolean;
  retainedOnly?: boolean;
  removeRetained?: boolean;
  retainAsPublished?: boolean;
}

/** Everything `sub` will do. */
export interface SubPlan {
  connection: ResolvedConnection;
  /** Backoff and failover addresses for reconnecting. */
  reconnect: ReconnectPlan;
  subscriptions: SubscriptionRequest[];
  subscribeProperties?: Properties;
  unsubscribe: string[];
  unsubscribeProperties?: Properties;
  filterOut: string[];
  output: OutputOptions;
  /** 0: no limit. */
  count: number;
  /** Seconds; 0: no limit. */
  timeout: number;
  exitAfterSubscribe: boolean;
  skipRetained: boolean;
  retainedOnly: boolean;
  removeRetained: boolean;
}

function checkFilters(flag: string, filters: readonly string[]): void {
  for (const filter of filters) {
    try {
      validateTopicFilter(filter);
    } catch (err) {
      throw new UsageError(`${flag}: invalid topic filter "${filter}": ${(err as Error).message}`);
    }
  }
}

/**
 * Checks and resolves the flags.
 * @throws UsageError naming the first problem.
 */
export function planSub(f: SubFlags): SubPlan {
  const connection = resolveConnection(f, [
    'connect',
    'subscribe',
    'unsubscribe',
    'disconnect',
    'will',
  ]);
  const filters = [...(f.topic ?? []), ...(connection.urlTopic ? [connection.urlTopic] : [])];
  if (filters.length === 0) throw new UsageError('no topic: give -t (or a topic in the -L URL)');
  checkFilters('-t', filters);
  checkFilters('-T', f.filterOut ?? []);
  checkFilters('-U', f.unsubscribe ?? []);
  if (f.skipRetained && f.retainedOnly) {
    throw new UsageError('-R (skip retained messages) and --retained-only contradict each other');
  }
  const v5 = connection.options.protocolVersion === 5;
  if (f.retainAsPublished && !v5) throw new UsageError('--retain-as-published needs MQTT 5 (-V 5)');
  if (f.format !== undefined) compileFormat(f.format); // a bad format fails here, not per message
  const qos = parseQos(f.qos);
  return {
    connection,
    reconnect: resolveReconnect(f, connection.options),
    subscriptions: filters.map((filter) => ({
      filter,
      qos,
      noLocal: false,
      retainAsPublished: f.retainAsPublished === true,
      retainHandling: 0,
    })),
    subscribeProperties: connection.properties.subscribe,
    unsubscribe: f.unsubscribe ?? [],
    unsubscribeProperties: connection.properties.unsubscribe,
    filterOut: f.filterOut ?? [],
    output: {
      verbose: f.verbose === true,
      noNewline: f.omitNewline === true,
      format: f.format,
      pretty: f.pretty === true,
    },
    count: f.count === undefined ? 0 : parseIntFlag('message count (-C)', f.count, 1, 2 ** 31 - 1),
    timeout: f.timeout === undefined ? 0 : parseIntFlag('timeout (-W)', f.timeout, 1, 2 ** 31 - 1),
    exitAfterSubscribe: f.exitAfterSubscribe === true,
    skipRetained: f.skipRetained === true,
    retainedOnly: f.retainedOnly === true,
    removeRetained: f.removeRetained === true,
  };
}
