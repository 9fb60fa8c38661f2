/**
 * Flag parity, subscribing side: each case runs mosquitto_sub and `pipit sub` with the same
 * flags against one Pipit broker; both must give the expected exit code and output. Topics
 * carry a 3-letter tag per tool (`mos`, `pip`), removed from the output before comparing.
 */
import { after, before, describe } from 'node:test';
import mqtt from 'mqtt';
import type { ClientInfo } from '../../src/index.js';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { forwardUnixToTcp } from '../helpers/unix-forwarder.js';
import {
  eventually,
  Observer,
  parity as parityCase,
  type RunResult,
  run,
  sleep,
  start,
  type Tool,
  tracePackets,
} from './parity/harness.js';

let tb: TestBroker;
let observer: Observer;
const connected: ClientInfo[] = [];

before(async () => {
  tb = await startBroker();
  tb.broker.on('clientConnected', (info) => connected.push(info));
  observer = await Observer.open(tb.url, 'ps-will/#');
});
after(async () => {
  await observer.close();
  await tb.close();
});

const parity = (name: string, expected: unknown, observe: Parameters<typeof parityCase>[3]) =>
  parityCase('ps', name, expected, observe);
const p = (): string[] => ['-p', String(tb.port)];

/** Publishes through the observer's connection. */
function publish(topic: string, payload: string | Buffer, qos: 0 | 1 = 1, retain = false) {
  return observer.client.publishAsync(topic, payload, { qos, retain });
}

/** Exit code and stdout with the tool's topic prefix removed. */
function outcome(r: RunResult, prefix: string) {
  return { code: r.code, stdout: r.stdout.toString('latin1').replaceAll(prefix, '') };
}

/** Runs a sub that ends on -C while `live` is published every 100 ms (it may not be subscribed yet). */
async function subWhilePublishing(
  tool: Tool,
  args: string[],
  live: () => Promise<unknown>,
): Promise<RunResult> {
  const sub = start(tool, 'sub', args);
  let ended = false;
  void sub.done.then(() => (ended = true));
  while (!ended) {
    await live();
    await sleep(100);
  }
  return sub.done;
}

describe('sub flags: mosquitto_sub and pipit sub give the same result', () => {
  for (const version of ['311', '5']) {
    parity(
      `-c resumes the session and prints every queued QoS 1 message (-V ${version})`,
      { created: 0, code: 0, stdout: 'q m1\nq m2\nq m3\n' },
      async (tool, prefix) => {
        const session = ['-c', '-i', `${prefix}c${version}`, '-q', '1', '-V', version];
        const created = await run(tool, 'sub', [...p(), ...session, '-t', `${prefix}q`, '-E']);
        for (const m of ['m1', 'm2', 'm3']) await publish(`${prefix}q`, m);
        const r = await run(tool, 'sub', [...p(), ...session, '-t', `${prefix}q`, '-C', '3', '-v']);
        return { created: created.code, ...outcome(r, prefix) };
      },
    );
  }

  parity(
    '-x keeps an MQTT 5 session for that many seconds (resumed with -c)',
    { code: 0, stdout: 'x one\nx two\n' },
    async (tool, prefix) => {
      const id = ['-i', `${prefix}x`, '-q', '1', '-V', '5', '-t', `${prefix}x`];
      await run(tool, 'sub', [...p(), ...id, '-x', '300', '-E']);
      for (const m of ['one', 'two']) await publish(`${prefix}x`, m);
      const r = await run(tool, 'sub', [...p(), ...id, '-x', '300', '-c', '-C', '2', '-v']);
      return outcome(r, prefix);
    },
  );

  parity(
    '-R does not print retained (stale) messages',
    { code: 0, stdout: 'r new\n' },
    async (tool, prefix) => {
      await publish(`${prefix}r`, 'old', 1, true);
      const r = await subWhilePublishing(
        tool,
        [...p(), '-t', `${prefix}r`, '-R', '-C', '1', '-v'],
        () => publish(`${prefix}r`, 'new', 0),
      );
      await publish(`${prefix}r`, '', 1, true);
      return outcome(r, prefix);
    },
  );

  parity(
    '-N prints no newline after the payload',
    { code: 0, stdout: 'kept' },
    async (tool, prefix) => {
      await publish(`${prefix}n`, 'kept', 1, true);
      const r = await run(tool, 'sub', [...p(), '-t', `${prefix}n`, '-N', '-C', '1']);
      await publish(`${prefix}n`, '', 1, true);
      return outcome(r, prefix);
    },
  );

  const year = new Date().getFullYear();
  parity(
    '-F formats each message (fields, widths, precision, escapes, time)',
    // %-6t: the whole topic (longer than 6); %10.3t: its first 3 characters, padded to 10.
    { code: 0, stdout: `f|hi|1|1|2|6869|6869|1|%|@|\t|    2|2    |00002|f|       ps/|${year}\n` },
    async (tool, prefix) => {
      await publish(`${prefix}f`, 'hi', 1, true);
      const format = '%t|%p|%q|%r|%l|%x|%X|%m|%%|@@|\\t|%5l|%-5l|%05l|%-6t|%10.3t|@Y';
      const r = await run(tool, 'sub', [
        ...p(),
        '-t',
        `${prefix}f`,
        '-q',
        '1',
        '-C',
        '1',
        '-F',
        format,
      ]);
      await publish(`${prefix}f`, '', 1, true);
      return outcome(r, prefix);
    },
  );

  parity(
    '-F %j prints the message as JSON',
    {
      code: 0,
      json: { topic: 'j', qos: 1, retain: 1, payloadlen: 5, mid: 1, payload: 'hello' },
      tst: true,
    },
    async (tool, prefix) => {
      await publish(`${prefix}j`, 'hello', 1, true);
      const r = await run(tool, 'sub', [
        ...p(),
        '-t',
        `${prefix}j`,
        '-q',
        '1',
        '-C',
        '1',
        '-F',
        '%j',
      ]);
      await publish(`${prefix}j`, '', 1, true);
      const { tst, ...json } = JSON.parse(r.stdout.toString());
      return {
        code: r.code,
        json: { ...json, topic: json.topic.replace(prefix, '') },
        tst: typeof tst === 'string',
      };
    },
  );

  parity(
    '--pretty prints -F %J over several lines, the payload as JSON',
    { code: 0, lines: true, payload: { t: 21.5 } },
    async (tool, prefix) => {
      await publish(`${prefix}pretty`, '{"t":21.5}', 1, true);
      const args = ['-t', `${prefix}pretty`, '-C', '1', '-F', '%J', '--pretty'];
      const r = await run(tool, 'sub', [...p(), ...args]);
      await publish(`${prefix}pretty`, '', 1, true);
      const text = r.stdout.toString();
      return {
        code: r.code,
        lines: text.trim().split('\n').length > 3,
        payload: JSON.parse(text).payload,
      };
    },
  );

  parity(
    '-T does not print topics matching a filter',
    { code: 0, stdout: 't/b B\n' },
    async (tool, prefix) => {
      await publish(`${prefix}t/a`, 'A', 1, true);
      await publish(`${prefix}t/b`, 'B', 1, true);
      const r = await run(tool, 'sub', [
        ...p(),
        '-t',
        `${prefix}t/#`,
        '-T',
        `${prefix}t/a`,
        '-C',
        '1',
        '-v',
      ]);
      for (const t of ['t/a', 't/b']) await publish(`${prefix}${t}`, '', 1, true);
      return outcome(r, prefix);
    },
  );

  parity(
    '-U unsubscribes a kept session from a filter; -E exits once subscribed',
    { setUp: [0, 0], code: 0, stdout: 'u/b B\nu/c C\n' },
    async (tool, prefix) => {
      const session = [...p(), '-c', '-i', `${prefix}u`, '-q', '1'];
      const first = await run(tool, 'sub', [
        ...session,
        '-t',
        `${prefix}u/a`,
        '-t',
        `${prefix}u/b`,
        '-E',
      ]);
      const second = await run(tool, 'sub', [
        ...session,
        '-t',
        `${prefix}u/c`,
        '-U',
        `${prefix}u/a`,
        '-E',
      ]);
      for (const t of ['u/a', 'u/b', 'u/c'])
        await publish(`${prefix}${t}`, t.slice(2).toUpperCase());
      const r = await run(tool, 'sub', [...session, '-t', `${prefix}u/c`, '-C', '2', '-v']);
      return { setUp: [first.code, second.code], ...outcome(r, prefix) };
    },
  );

  parity(
    '--retained-only prints retained messages and exits at the first fresh one',
    { code: 0, stdout: 'ro kept\n' },
    async (tool, prefix) => {
      await publish(`${prefix}ro`, 'kept', 1, true);
      const args = [...p(), '-t', `${prefix}ro`, '--retained-only', '-v'];
      const r = await subWhilePublishing(tool, args, () => publish(`${prefix}ro`, 'fresh', 0));
      await publish(`${prefix}ro`, '', 1, true);
      return outcome(r, prefix);
    },
  );

  parity(
    '--remove-retained clears every retained message it receives',
    // The clearing publishes come back as empty live messages, and are printed too.
    { code: 27, stdout: 'rr/1 (null)\nrr/1 one\nrr/2 (null)\nrr/2 two\n', left: 0 },
    async (tool, prefix) => {
      await publish(`${prefix}rr/1`, 'one', 1, true);
      await publish(`${prefix}rr/2`, 'two', 1, true);
      const r = await run(tool, 'sub', [
        ...p(),
        '-t',
        `${prefix}rr/#`,
        '--remove-retained',
        '-v',
        '-W',
        '1',
      ]);
      const check = await mqtt.connectAsync(tb.url, { reconnectPeriod: 0 });
      let left = 0;
      check.on('message', () => left++);
      await check.subscribeAsync(`${prefix}rr/#`);
      await sleep(300);
      await check.endAsync();
      const lines = r.stdout.toString().replaceAll(prefix, '').split('\n').filter(Boolean).sort();
      return { code: r.code, stdout: `${lines.join('\n')}\n`, left };
    },
  );

  parity(
    '-v prints "(null)" for an empty payload; payloads come out byte for byte',
    { code: 0, stdout: `e (null)\ne ${Buffer.from([0xff, 0x00, 0xfe]).toString('latin1')}\n` },
    async (tool, prefix) => {
      const sub = start(tool, 'sub', [...p(), '-t', `${prefix}e`, '-C', '2', '-v', '-q', '1']);
      // Empty messages until the subscriber printed one, then the binary one until it exits.
      while (sub.stdout().length === 0) {
        await publish(`${prefix}e`, Buffer.alloc(0));
        await sleep(100);
      }
      let ended = false;
      void sub.done.then(() => (ended = true));
      while (!ended) {
        await publish(`${prefix}e`, Buffer.from([0xff, 0x00, 0xfe]));
        await sleep(100);
      }
      return outcome(await sub.done, prefix);
    },
  );

  parity(
    '-d prints a packet trace on stdout',
    {
      code: 0,
      trace: [
        'sending CONNECT',
        'received CONNACK',
        'sending SUBSCRIBE',
        'received SUBACK',
        'received PUBLISH',
        'sending DISCONNECT',
      ],
    },
    async (tool, prefix) => {
      await publish(`${prefix}d`, 'x', 1, true);
      const r = await run(tool, 'sub', [...p(), '-t', `${prefix}d`, '-C', '1', '-d']);
      await publish(`${prefix}d`, '', 1, true);
      return { code: r.code, trace: tracePackets(r.stdout) };
    },
  );

  parity(
    '-L takes a filter with # in the URL; --nodelay and -A change nothing visible',
    { code: 0, stdout: 'l/x via url\n', from: '127.0.0.2' },
    async (tool, prefix) => {
      await publish(`${prefix}l/x`, 'via url', 1, true);
      const before = connected.length;
      const url = `mqtt://127.0.0.1:${tb.port}/${prefix}l/#`;
      const r = await run(tool, 'sub', [
        '-L',
        url,
        '-C',
        '1',
        '-v',
        '--nodelay',
        '-A',
        '127.0.0.2',
      ]);
      await publish(`${prefix}l/x`, '', 1, true);
      const from = connected
        .slice(before)
        .at(-1)
        ?.remoteAddress?.replace(/^::ffff:/, '');
      return { ...outcome(r, prefix), from };
    },
  );

  parity(
    '--unix and -I: through a Unix socket, with a client id prefix',
    { code: 0, stdout: 'ux hi\n', id: true },
    async (tool, prefix) => {
      await publish(`${prefix}ux`, 'hi', 1, true);
      const fwd = await forwardUnixToTcp(tb.port);
      try {
        const idPrefix = `${tool}-sub-`;
        const r = await run(tool, 'sub', [
          '--unix',
          fwd.path,
          '-I',
          idPrefix,
          '-t',
          `${prefix}ux`,
          '-C',
          '1',
          '-v',
        ]);
        const id = connected
          .map((c) => c.clientId)
          .some((c) => new RegExp(`^${idPrefix}\\d+$`).test(c));
        return { ...outcome(r, prefix), id };
      } finally {
        await fwd.close();
        await publish(`${prefix}ux`, '', 1, true);
      }
    },
  );

  parity(
    '-D connect properties make the client MQTT 5; -W and --quiet: exit 27, nothing on stderr',
    { code: 27, stderr: '', version: 5 },
    async (tool, prefix) => {
      const before = connected.length;
      const args = [
        '-t',
        `${prefix}w`,
        '-W',
        '1',
        '--quiet',
        '-D',
        'connect',
        'receive-maximum',
        '10',
      ];
      const r = await run(tool, 'sub', [...p(), ...args]);
      return {
        code: r.code,
        stderr: r.stderr,
        version: connected.slice(before).at(-1)?.protocolVersion,
      };
    },
  );

  parity(
    'the will flags: a killed subscriber leaves its will, retained at the asked QoS',
    { seen: { payload: 'bye', qos: 1 }, retained: 'bye' },
    async (tool, prefix) => {
      const will = `ps-will/${prefix}`;
      const id = `${prefix}will`;
      const args = [
        '-i',
        id,
        '-t',
        `${prefix}nothing`,
        '--will-topic',
        will,
        '--will-payload',
        'bye',
      ];
      const sub = start(tool, 'sub', [...p(), ...args, '--will-qos', '1', '--will-retain']);
      await eventually(() => connected.some((c) => c.clientId === id), 10_000);
      await sleep(200);
      sub.child.kill('SIGKILL');
      await sub.done;
      await eventually(() => observer.under(will).length > 0, 5000);
      const seen = observer.under(will)[0];
      const check = await mqtt.connectAsync(tb.url, { reconnectPeriod: 0 });
      const retained = new Promise<string>((resolve) =>
        check.on('message', (_t, m) => resolve(m.toString())),
      );
      await check.subscribeAsync(will);
      const value = await Promise.race([retained, sleep(2000).then(() => 'none')]);
      await check.publishAsync(will, '', { retain: true, qos: 1 });
      await check.endAsync();
      return { seen: { payload: seen?.payload, qos: seen?.qos }, retained: value };
    },
  );
});
