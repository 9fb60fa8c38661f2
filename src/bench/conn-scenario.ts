/**
 * The conn scenario: open many idle connections as fast as allowed, hold them, close them.
 * `onMeasureStart` runs once all are up (the harness reads the broker's memory then);
 * `onHalfConnected`, when given, between two halves of the connections. The result's
 * `latency` is the connect latency: from `net.connect` to the CONNACK, per connection.
 */
import { randomInt } from 'node:crypto';
import { LatencyHistogram } from './histogram.js';
import { type ResolvedOptions, streamOptionsOf } from './options.js';
import { ProgressReporter } from './progress.js';
import { RawConnection } from './raw-connection.js';
import { mapLimit, pause } from './topology.js';
import type { BenchResult } from './types.js';

const CONNECT_TIMEOUT_MS = 15_000;

/** Runs the conn scenario. */
export async function runConnScenario(o: ResolvedOptions): Promise<BenchResult> {
  const tag = randomInt(1, 2 ** 32 - 1).toString(36);
  const conns: RawConnection[] = [];
  const counters = { sent: 0, delivered: 0 };
  const progress = new ProgressReporter(o, counters, () => conns.length);
  let failed = 0;
  let firstError: string | undefined;
  let connectMs = 0;
  let cpu = { user: 0, system: 0 };
  const connectLatency = new LatencyHistogram();
  /** Opens one batch of client ids; its wall time and CPU add to the totals. */
  const openAll = async (ids: readonly string[]): Promise<void> => {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await mapLimit(ids, o.connectConcurrency, async (clientId) => {
      // After Ctrl-C no new attempt starts; those in progress finish.
      if (o.signal?.aborted) return;
      try {
        const started = performance.now();
        const c = await RawConnection.open({
          ...streamOptionsOf(o),
          clientId,
          protocolVersion: o.protocolVersion,
          // Idle on purpose: no keepalive, so nothing flows while the connections are held.
          keepAlive: 0,
          username: o.username,
          password: o.password,
          timeoutMs: CONNECT_TIMEOUT_MS,
        });
        connectLatency.record((performance.now() - started) * 1000);
        conns.push(c);
      } catch (err) {
        failed++;
        firstError ??= (err as Error).message;
      }
    });
    connectMs += performance.now() - t0;
    const used = process.cpuUsage(cpu0);
    cpu = { user: cpu.user + used.user, system: cpu.system + used.system };
  };
  try {
    progress.phase('setup', 0);
    const ids = Array.from({ length: o.count }, (_, i) => `pbc-${tag}-${i}`);
    const half = o.onHalfConnected === undefined ? 0 : Math.floor(o.count / 2);
    if (half > 0) {
      await openAll(ids.slice(0, half));
      await o.onHalfConnected?.(conns.length);
    }
    await openAll(ids.slice(half));
    const stoppedInSetup = o.signal?.aborted === true;
    await o.onMeasureStart?.();
    progress.phase('hold', o.durationMs);
    await pause(o.durationMs, o.signal);
    const interrupted = stoppedInSetup ? 'setup' : o.signal?.aborted ? 'hold' : undefined;
    const dropped = conns.filter((c) => c.closed).length;
    await o.onMeasureEnd?.();
    const cpuMs = (cpu.user + cpu.system) / 1000;
    return {
      scenario: 'conn',
      host: o.host,
      port: o.port,
      protocolVersion: o.protocolVersion,
      qos: 0,
      payloadSize: 0,
      publishers: 0,
      subscribers: 0,
      rate: undefined,
      transport: o.transport,
      batch: 1,
      writes: 0,
      packetsPerWrite: 0,
      minPacketsPerWrite: 0,
      seconds: Math.round(connectMs) / 1000,
      sent: 0,
      delivered: 0,
      sentPerSec: 0,
      deliveredPerSec: 0,
      latency: connectLatency.summary(),
      totalSent: 0,
      totalDelivered: 0,
      lost: 0,
      duplicated: 0,
      outOfOrder: 0,
      errors: failed + dropped,
      cpu: {
        userMs: cpu.user / 1000,
        systemMs: cpu.system / 1000,
        percent: Math.round((cpuMs / Math.max(1, connectMs)) * 1000) / 10,
      },
      clientBound: cpuMs / Math.max(1, connectMs) > 0.9,
      connections: {
        requested: o.count,
        established: conns.length,
        failed,
        connectSeconds: Math.round(connectMs) / 1000,
        connectsPerSec: Math.round(conns.length / (connectMs / 1000)),
        ...(firstError === undefined ? {} : { firstError }),
      },
      ...(interrupted ? { interrupted } : {}),
    };
  } finally {
    progress.stop();
    await mapLimit(conns, 500, (c) => c.close());
  }
}
