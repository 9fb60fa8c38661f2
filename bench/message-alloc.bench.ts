/**
 * Bytes the compiled broker allocates per message when each message arrives alone (issue
 * #17: fan-in 8→1 at 10k msg/s, evenly spaced, is about one message per event-loop wake-up).
 * Counted, not timed, so the machine's load does not move it: the broker runs with
 * `--expose-gc --inspect` and a young generation large enough (`--min/max-semi-space-size`,
 * default 64 MB) that no GC runs while counting; 8 publishers send to 1 subscriber one
 * message at a time (the next once the subscriber has it and, at QoS 1, the publisher has its
 * PUBACK and the subscriber's PUBACK is written, after a pause); a forced GC before the window, the heap
 * used read through the inspector before and after, divided by the messages. `--trace-gc`
 * lines in the window make the count invalid (printed so). With `--profile`, the sampling
 * heap profiler runs over a second window and the allocation sites are listed by bytes per
 * message (a sample, so approximate; the count above is the figure).
 *
 *   node --import tsx bench/message-alloc.bench.ts [--main dist/cli/main.js] [--qos 0,1]
 *     [--messages 10000] [--warmup 3000] [--version 4|5] [--gap 1] [--profile] [--rows 30]
 *
 * Not a test; figures are printed, never asserted.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import { parseArgs } from 'node:util';
import { Decoder, encode, type Packet } from '../src/protocol/index.js';
import { freePort, waitForPort } from './harness/brokers.js';
import { Inspector } from './harness/inspector.js';

const HOST = '127.0.0.1';
const PUBLISHERS = 8;
const { values: args } = parseArgs({
  options: {
    main: { type: 'string', default: 'dist/cli/main.js' },
    qos: { type: 'string', default: '0,1' },
    messages: { type: 'string', default: '10000' },
    warmup: { type: 'string', default: '3000' },
    version: { type: 'string', default: '4' },
    semi: { type: 'string', default: '64' },
    gap: { type: 'string', default: '1' },
    profile: { type: 'boolean', default: false },
    rows: { type: 'string', default: '30' },
  },
});
const VERSION = args.version === '5' ? 5 : 4;
const MESSAGES = Number(args.messages);
/**
 * Pause between a message being through and the next (ms): long enough that the broker has
 * read the subscriber's PUBACK before the next PUBLISH comes, so each message takes the same
 * wake-ups in every run (with no pause the two sometimes shared one, and the count moved by
 * ~40 B between runs of one build).
 */
const GAP_MS = Number(args.gap);

/** One raw MQTT client: packets decoded as they come, each handed to `onPacket`. */
class RawClient {
  onPacket: (p: Packet) => void = () => {};
  private readonly decoder = new Decoder({ protocolVersion: VERSION });
  private constructor(readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.decoder.push(chunk, (p) => this.onPacket(p)));
  }
  /** Connects and waits for CONNACK. */
  static async open(port: number, clientId: string): Promise<RawClient> {
    const socket = net.connect({ host: HOST, port });
    await new Promise((ok, fail) => socket.once('connect', ok).once('error', fail));
    const c = new RawClient(socket);
    const connack = c.next('connack');
    c.send({
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: VERSION,
      clean: true,
      keepAlive: 60,
      clientId,
    } as Packet);
    await connack;
    return c;
  }
  send(p: Packet): void {
    this.socket.write(encode(p, VERSION));
  }
  next(type: Packet['type']): Promise<Packet> {
    return new Promise((ok) => {
      this.onPacket = (p) => {
        if (p.type === type) ok(p);
      };
    });
  }
}

function startBroker(port: number): {
  stop: () => void;
  inspectorUrl: Promise<string>;
  gcLines: () => number;
  alive: () => boolean;
} {
  const semi = `${args.semi}`;
  const child = spawn(
    process.execPath,
    [
      `--min-semi-space-size=${semi}`,
      `--max-semi-space-size=${semi}`,
      '--trace-gc',
      // Its GCs when the allocation rate is low (between messages) would empty the window.
      '--no-memory-reducer',
      '--expose-gc',
      '--inspect=127.0.0.1:0',
      args.main,
      ...['broker', '--port', String(port), '--host', HOST, '--memory', '--log-level', 'warn'],
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let gcs = 0;
  child.stdout.on('data', (d: Buffer) => {
    gcs += (String(d).match(/Scavenge|Mark-Compact|Mark-Sweep|Minor/g) ?? []).length;
  });
  const inspectorUrl = new Promise<string>((ok, fail) => {
    let text = '';
    child.stderr.on('data', (d: Buffer) => {
      text += String(d);
      const m = /Debugger listening on (ws:\/\/\S+)/.exec(text);
      if (m?.[1]) ok(m[1]);
    });
    child.once('exit', (code) => fail(new Error(`broker exited with ${code}: ${text}`)));
  });
  const alive = (): boolean => child.exitCode === null;
  return { stop: () => child.kill('SIGTERM'), inspectorUrl, gcLines: () => gcs, alive };
}

/** The fan-in's clients, sending one message at a time. */
class FanIn {
  private sent = 0;
  private constructor(
    private readonly qos: 0 | 1,
    private readonly sub: RawClient,
    private readonly pubs: RawClient[],
    private readonly packets: Buffer[],
  ) {}
  static async open(port: number, qos: 0 | 1): Promise<FanIn> {
    const sub = await RawClient.open(port, `alloc-sub-q${qos}`);
    const suback = sub.next('suback');
    sub.send({
      type: 'subscribe',
      packetId: 1,
      subscriptions: [
        {
          filter: `alloc/q${qos}/#`,
          qos,
          noLocal: false,
          retainAsPublished: false,
          retainHandling: 0,
        },
      ],
    });
    await suback;
    const pubs: RawClient[] = [];
    const packets: Buffer[] = [];
    for (let i = 0; i < PUBLISHERS; i++) {
      pubs.push(await RawClient.open(port, `alloc-pub-q${qos}-${i}`));
      const publish = {
        type: 'publish',
        topic: `alloc/q${qos}/p${i}`,
        payload: Buffer.alloc(64, i),
        qos,
        retain: false,
        dup: false,
        ...(qos ? { packetId: 1 } : {}),
      } as Packet;
      packets.push(encode(publish, VERSION));
    }
    return new FanIn(qos, sub, pubs, packets);
  }
  /** Sends `n` messages, each once the previous one is through. */
  async run(n: number): Promise<void> {
    for (let k = 0; k < n; k++) await this.one();
  }
  private one(): Promise<void> {
    const i = this.sent++ % PUBLISHERS;
    const pub = this.pubs[i] as RawClient;
    let waiting = this.qos ? 2 : 1;
    return new Promise((ok) => {
      const done = (): void => {
        if (--waiting === 0) setTimeout(ok, GAP_MS);
      };
      this.sub.onPacket = (p) => {
        if (p.type !== 'publish') return;
        if (this.qos) this.sub.send({ type: 'puback', packetId: p.packetId as number });
        done();
      };
      pub.onPacket = (p) => {
        if (p.type === 'puback') done();
      };
      pub.socket.write(this.packets[i] as Buffer);
    });
  }
  close(): void {
    for (const c of [this.sub, ...this.pubs]) c.socket.destroy();
  }
}

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

/** Sampled bytes per allocation site (function, file:line), largest first. */
function sites(root: ProfileNode): [string, number][] {
  const by = new Map<string, number>();
  const walk = (n: ProfileNode): void => {
    const f = n.callFrame;
    const file = f.url.replace(/^.*\/(dist|node_modules)\//, '$1/').replace(/^node:/, '');
    const key = `${f.functionName || '(anonymous)'} ${file}:${f.lineNumber + 1}`;
    if (n.selfSize) by.set(key, (by.get(key) ?? 0) + n.selfSize);
    for (const c of n.children) walk(c);
  };
  walk(root);
  return [...by].sort((a, b) => b[1] - a[1]);
}

async function measure(port: number, insp: Inspector, gcLines: () => number, qos: 0 | 1) {
  const fan = await FanIn.open(port, qos);
  await fan.run(Number(args.warmup));
  const heap = () =>
    insp.evaluate<{ used: number; ab: number }>(
      '(() => { const m = process.memoryUsage(); return { used: m.heapUsed, ab: m.arrayBuffers }; })()',
    );
  await insp.evaluate('(gc(), gc(), 0)');
  const gc0 = gcLines();
  const a = await heap();
  await fan.run(MESSAGES);
  const b = await heap();
  await new Promise((r) => setTimeout(r, 100)); // the trace lines of a GC in the window
  const gcs = gcLines() - gc0;
  const perMsg = ((b.used - a.used) / MESSAGES).toFixed(0);
  const abPerMsg = ((b.ab - a.ab) / MESSAGES).toFixed(0);
  console.log(
    `QoS ${qos}, MQTT ${VERSION === 5 ? '5.0' : '3.1.1'}, ${MESSAGES} messages one at a time: ` +
      `${perMsg} B of heap allocated per message (array buffers ${abPerMsg} B)` +
      (gcs ? ` — INVALID: ${gcs} GC line(s) in the window` : ', no GC in the window'),
  );
  if (args.profile) {
    await insp.call('HeapProfiler.enable');
    await insp.call('HeapProfiler.startSampling', {
      samplingInterval: 32,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    await fan.run(MESSAGES);
    const { profile } = (await insp.call('HeapProfiler.stopSampling')) as {
      profile: { head: ProfileNode };
    };
    const rows = sites(profile.head);
    const total = rows.reduce((s, [, v]) => s + v, 0);
    console.log(`  sampled ${(total / MESSAGES).toFixed(0)} B per message; by site:`);
    for (const [site, bytes] of rows.slice(0, Number(args.rows))) {
      console.log(`  ${(bytes / MESSAGES).toFixed(1).padStart(7)}  ${site}`);
    }
  }
  fan.close();
}

async function main(): Promise<void> {
  const port = await freePort();
  const broker = startBroker(port);
  try {
    const insp = await Inspector.open(await broker.inspectorUrl);
    await waitForPort(port, 20_000, broker.alive);
    for (const q of args.qos.split(',').map(Number)) {
      await measure(port, insp, broker.gcLines, q === 1 ? 1 : 0);
    }
    insp.close();
  } finally {
    broker.stop();
  }
}

await main();
