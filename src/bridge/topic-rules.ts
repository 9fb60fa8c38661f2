/**
 * A bridge's topic rules, compiled: the filters it subscribes to on each side, and the
 * mapping of a topic from one side to the other (strip one prefix, add the other), with the
 * meaning of Mosquitto's `topic` line.
 */
import type { QoS } from '../protocol/index.js';
import { topicMatchesFilter } from '../topic/index.js';
import type { TopicRule } from './bridge-options.js';

/** One rule with its defaults applied. */
export interface CompiledRule {
  readonly localFilter: string;
  readonly remoteFilter: string;
  readonly localPrefix: string;
  readonly remotePrefix: string;
  readonly qos: QoS;
  readonly out: boolean;
  readonly in: boolean;
}

/** Applies the defaults of one rule (direction out, QoS 0, empty prefixes). */
export function compileRule(rule: TopicRule): CompiledRule {
  const localPrefix = rule.localPrefix ?? '';
  const remotePrefix = rule.remotePrefix ?? '';
  const direction = rule.direction ?? 'out';
  return {
    localFilter: localPrefix + rule.pattern,
    remoteFilter: remotePrefix + rule.pattern,
    localPrefix,
    remotePrefix,
    qos: rule.qos ?? 0,
    out: direction !== 'in',
    in: direction !== 'out',
  };
}

/** The rules of one bridge. */
export class TopicRules {
  readonly rules: readonly CompiledRule[];
  /** Rules forwarding local messages to the remote. */
  readonly outgoing: readonly CompiledRule[];
  /** Rules forwarding remote messages here. */
  readonly incoming: readonly CompiledRule[];

  constructor(rules: readonly TopicRule[]) {
    this.rules = rules.map(compileRule);
    this.outgoing = this.rules.filter((r) => r.out);
    this.incoming = this.rules.filter((r) => r.in);
  }

  /** The remote topic of a local one, by the first outgoing rule whose filter matches it. */
  toRemote(localTopic: string): string | undefined {
    for (const rule of this.outgoing) {
      if (topicMatchesFilter(localTopic, rule.localFilter)) {
        return rule.remotePrefix + localTopic.slice(rule.localPrefix.length);
      }
    }
    return undefined;
  }

  /** The local topic of a remote one, by the first incoming rule whose filter matches it. */
  toLocal(remoteTopic: string): string | undefined {
    for (const rule of this.incoming) {
      if (topicMatchesFilter(remoteTopic, rule.remoteFilter)) {
        return rule.localPrefix + remoteTopic.slice(rule.remotePrefix.length);
      }
    }
    return undefined;
  }
}
