/**
 * The `$SYS` publisher: every `sysInterval` seconds it reads the broker's counters and
 * publishes them under `$SYS/broker/`, retained (a new subscriber gets the latest values at
 * once) at QoS 2, as Mosquitto does. A value is published only when it changed since its
 * last publication (uptime changes every time); the first update publishes everything, and
 * `$SYS/broker/version` is published once at start.
 *
 * Messages go in through the message pipeline as the broker's own (no client, no
 * authorization: clients can never publish under `$SYS`, see core/sys-topic.ts). Readers are
 * authorized like any subscriber (the ACL file's `read`); `#` and `+/...` do not match them
 * (MQTT 4.7.2). The retained store keeps them outside its limits and out of the store.
 */
import { getHeapStatistics } from 'node:v8';
import { readCounters } from '../admin/counters.js';
import type { BrokerCore } from '../core/index.js';
import { createMessage } from '../core/index.js';
import type { TimerHandle } from '../ports/index.js';
import { LOAD_WINDOWS, LoadAverage } from './load-average.js';
import {
  type HeapReading,
  loadCounters,
  mosquittoValues,
  pipitValues,
  SYS_PREFIX,
  type SysValue,
} from './sys-values.js';

/** Settings of {@link SysTopics}. */
export interface SysTopicsOptions {
  /** Seconds between two updates (greater than 0). */
  intervalSeconds: number;
  /** Pipit's version, for `$SYS/broker/version` ("pipit version 1.2.3"). */
  version: string;
}

/** QoS of `$SYS` messages (Mosquitto's); a subscription's own QoS lowers it per subscriber. */
const SYS_QOS = 2;

/** Publishes the `$SYS` tree of one broker core until stopped. */
export class SysTopics {
  /** The payload last published per topic (only changes are published again). */
  private readonly published = new Map<string, string>();
  /** Load averages by counter name; the first update starts them from the counters' values. */
  private readonly loads = new Map<string, LoadAverage>();
  private readonly heap: HeapReading = { current: 0, maximum: 0 };
  private timer: TimerHandle | undefined;
  private startedAt = 0;
  private lastUpdate = 0;

  constructor(
    private readonly core: BrokerCore,
    private readonly options: SysTopicsOptions,
  ) {}

  /** Publishes the version and a first full update, then updates every interval. */
  start(): void {
    const now = this.core.clock.now();
    this.startedAt = now;
    this.lastUpdate = now;
    this.publish('version', `pipit version ${this.options.version}`);
    this.update(true);
    this.schedule();
  }

  /** Stops updating (the retained values stay until the broker closes). */
  stop(): void {
    if (this.timer !== undefined) this.core.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Reads the counters and publishes what changed (everything when `all`). */
  update(all = false): void {
    const now = this.core.clock.now();
    const counters = readCounters(this.core);
    this.readHeap();
    const uptime = Math.floor((now - this.startedAt) / 1000);
    this.publish('uptime', `${uptime} seconds`);
    this.publishLoads(loadCounters(counters), (now - this.lastUpdate) / 1000, all);
    this.publishAll(mosquittoValues(counters, this.heap), all);
    this.publishAll(pipitValues(counters), all);
    this.lastUpdate = now;
  }

  private schedule(): void {
    this.timer = this.core.clock.setTimeout(() => {
      this.update();
      if (this.timer !== undefined) this.schedule();
    }, this.options.intervalSeconds * 1000);
  }

  private readHeap(): void {
    this.heap.current = getHeapStatistics().used_heap_size;
    if (this.heap.current > this.heap.maximum) this.heap.maximum = this.heap.current;
  }

  /** Integer values, published when they changed (all of them when `all`). */
  private publishAll(values: readonly SysValue[], all: boolean): void {
    for (const [topic, value] of values) this.publish(topic, String(value), all);
  }

  /**
   * Moves each counter's load averages on by `elapsed` seconds and publishes them with two
   * decimals when that changed them (Mosquitto's "%.2f"). The first update starts the
   * averages at 0 from the counters' current values.
   */
  private publishLoads(counters: readonly SysValue[], elapsed: number, all: boolean): void {
    for (const [name, total] of counters) {
      let load = this.loads.get(name);
      if (load === undefined) {
        load = new LoadAverage(total);
        this.loads.set(name, load);
      } else {
        load.update(total, elapsed);
      }
      const values = load.values;
      LOAD_WINDOWS.forEach(([suffix], i) => {
        this.publish(`load/${name}/${suffix}`, values[i].toFixed(2), all);
      });
    }
  }

  /** Publishes `$SYS/broker/<topic>` retained, unless it carries the same payload already. */
  private publish(topic: string, payload: string, always = true): void {
    if (!always && this.published.get(topic) === payload) return;
    this.published.set(topic, payload);
    const core = this.core;
    const message = createMessage(
      core.messageIds.take(),
      { topic: SYS_PREFIX + topic, payload: Buffer.from(payload), qos: SYS_QOS, retain: true },
      core.clock.now(),
    );
    // Not a `published` event: embedders see client and host messages only (fromBroker).
    core.publishOwn(message);
  }
}
