/**
 * The kill loop shared by the test (20+ kills) and the soak script (hundreds): two
 * publishers (QoS 1 and QoS 2) and a persistent subscriber that is online in most rounds;
 * each round starts the broker on the same data, resumes every session (resending what is
 * in flight), sends a random amount and kills the broker at a random point: mid-traffic
 * after some acknowledgements, or after a random delay (during resends, queue drains or
 * connects). A final round lets everything finish and checks the promise.
 */
import {
  BrokerProcess,
  freePort,
  random,
  sleep,
  tempDir,
  waitUntil,
  writeConfig,
} from './harness.js';
import { missing, Publisher, Subscriber } from './peers.js';

/** Options of a kill loop. */
export interface KillLoopOptions {
  kills: number;
  seed: number;
  /** Called after each kill (progress). */
  onKill?: (round: number, info: { acked1: number; acked2: number; delivered: number }) => void;
}

/** What the loop found. */
export interface KillLoopResult {
  kills: number;
  /** QoS 1 messages PUBACKed / QoS 2 messages PUBRECed. */
  acked1: number;
  acked2: number;
  /** Acknowledged messages the subscriber never got. */
  lostQos1: string[];
  lostQos2: string[];
  /** QoS 2 messages delivered more than once. */
  duplicatedQos2: string[];
  /** QoS 1 messages delivered more than once (allowed). */
  duplicatedQos1: number;
  dataDir: string;
}

/** Runs the loop; the broker is always killed or stopped when it returns or throws. */
export async function runKillLoop(options: KillLoopOptions): Promise<KillLoopResult> {
  const rnd = random(options.seed);
  const dataDir = tempDir('pipit-killloop-');
  const port = await freePort();
  const sub = new Subscriber('loop-sub', 5);
  const pub1 = new Publisher('loop-q1', 4, 'l/q1');
  const pub2 = new Publisher('loop-q2', 5, 'l/q2');
  // The subscriber is offline in some rounds: its queue must not hit the (policy) limit.
  const extra = ['-c', writeConfig(tempDir('pipit-killloop-conf-'), 'fsync', 10_000_000)];
  let broker: BrokerProcess | undefined;
  try {
    broker = await BrokerProcess.start(port, dataDir, extra);
    await sub.connect(port);
    await sub.subscribe('l/#', 2);
    for (let round = 0; round < options.kills; round++) {
      if (round > 0) broker = await BrokerProcess.start(port, dataDir, extra);
      await oneRound(port, rnd, sub, pub1, pub2);
      await broker.kill();
      options.onKill?.(round, {
        acked1: pub1.acknowledged.size,
        acked2: pub2.acknowledged.size,
        delivered: sub.distinct,
      });
    }
    broker = await BrokerProcess.start(port, dataDir, extra);
    await pub1.connect(port);
    await pub2.connect(port);
    await sub.connect(port);
    const acked = [...pub1.acknowledged, ...pub2.acknowledged];
    await waitUntil(
      () =>
        pub1.pending === 0 &&
        pub2.pending === 0 &&
        sub.held === 0 &&
        missing(acked, sub).length === 0,
      30_000 + options.kills * 500,
      () =>
        `pending ${pub1.pending}/${pub2.pending}, held ${sub.held}, missing ${missing(acked, sub).length}`,
    ).catch(() => {}); // what is missing is reported below
    await sleep(200);
    return {
      kills: options.kills,
      acked1: pub1.acknowledged.size,
      acked2: pub2.acknowledged.size,
      lostQos1: missing(pub1.acknowledged, sub),
      lostQos2: missing(pub2.acknowledged, sub),
      duplicatedQos2: [...sub.counts]
        .filter(([p, n]) => n > 1 && p.startsWith('loop-q2'))
        .map(([p]) => p),
      duplicatedQos1: [...sub.counts].filter(([p, n]) => n > 1 && p.startsWith('loop-q1')).length,
      dataDir,
    };
  } finally {
    for (const c of [sub.client, pub1.client, pub2.client]) c?.destroy();
    await broker?.kill();
  }
}

async function oneRound(
  port: number,
  rnd: () => number,
  sub: Subscriber,
  pub1: Publisher,
  pub2: Publisher,
): Promise<void> {
  await pub1.connect(port);
  await pub2.connect(port);
  if (rnd() < 0.75) await sub.connect(port);
  const n1 = 30 + Math.floor(rnd() * 300);
  const n2 = 30 + Math.floor(rnd() * 200);
  pub1.start(n1, 1, 64);
  pub2.start(n2, 2, 64);
  if (rnd() < 0.5) {
    // Mid-traffic: after a random share of this round's messages were acknowledged.
    const which = rnd() < 0.5 ? pub1 : pub2;
    const share = Math.floor((which === pub1 ? n1 : n2) * rnd());
    await which.whenAcknowledged(which.acknowledged.size + share, 10_000).catch(() => {});
  } else {
    await sleep(Math.floor(rnd() * 200));
  }
}
