/**
 * Flag parity, publishing side: each case runs mosquitto_pub and `pipit pub` with the same
 * flags against one Pipit broker, and both must produce the expected observable result
 * (exit code, stdout, what an MQTT.js observer received, what the broker saw).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { freePort } from '../../bench/harness/brokers.js';
import type { ClientInfo } from '../../src/index.js';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { forwardUnixToTcp } from '../helpers/unix-forwarder.js';
import { eventually, Observer, parity as parityCase, run, tracePackets } from './parity/harness.js';

let tb: TestBroker;
let observer: Observer;
let dir: string;
const connected: ClientInfo[] = [];

before(async () => {
  tb = await startBroker({ maximumPacketSize: 4096 });
  tb.broker.addHook({
    name: 'parity-auth',
    // Anonymous clients are welcome; a user must know their password.
    authenticate: ({ client, password }) => {
      if (client.username === undefined) return 'allow';
      const expected = { alice: 'secret', lu: 'lp' }[client.username];
      return password?.toString() === expected ? 'allow' : 'deny';
    },
  });
  tb.broker.on('clientConnected', (info) => connected.push(info));
  observer = await Observer.open(tb.url, 'pp/#');
  dir = mkdtempSync(join(tmpdir(), 'pipit-parity-pub-'));
});
after(async () => {
  await observer.close();
  await tb.close();
  rmSync(dir, { recursive: true, force: true });
});

const parity = (name: string, expected: unknown, observe: Parameters<typeof parityCase>[3]) =>
  parityCase('pp', name, expected, observe);

const p = (): string[] => ['-p', String(tb.port)];

/** Exit code, and the payloads (with QoS) delivered under `prefix`, once `count` arrived. */
async function delivered(prefix: string, code: number | null, count: number) {
  await eventually(() => observer.under(prefix).length >= count, 3000);
  return { code, messages: observer.under(prefix).map((m) => `${m.topic}:${m.payload}:q${m.qos}`) };
}

describe('pub flags: mosquitto_pub and pipit pub give the same result', () => {
  parity(
    '-l sends each line of stdin as a message, empty lines too',
    { code: 0, messages: ['l:one:q1', 'l::q1', 'l:three\r:q1', 'l:four:q1'] },
    async (tool, prefix) => {
      const r = await run(tool, 'pub', [...p(), '-t', `${prefix}l`, '-l', '-q', '1'], {
        stdin: 'one\n\nthree\r\nfour',
      });
      return delivered(prefix, r.code, 4);
    },
  );

  parity(
    '-M 1 with -l at QoS 1: every line arrives, in order',
    { code: 0, messages: ['m:1:q1', 'm:2:q1', 'm:3:q1', 'm:4:q1', 'm:5:q1'] },
    async (tool, prefix) => {
      const r = await run(tool, 'pub', [...p(), '-t', `${prefix}m`, '-l', '-q', '1', '-M', '1'], {
        stdin: '1\n2\n3\n4\n5\n',
      });
      return delivered(prefix, r.code, 5);
    },
  );

  parity(
    '-I makes the client id the prefix followed by the process id',
    { code: 0, idLooksRight: true },
    async (tool, prefix) => {
      const idPrefix = `${tool}-pfx-`;
      const r = await run(tool, 'pub', [...p(), '-t', `${prefix}i`, '-m', 'x', '-I', idPrefix]);
      const ids = connected.map((c) => c.clientId).filter((id) => id.startsWith(idPrefix));
      return { code: r.code, idLooksRight: ids.length === 1 && /^\D+\d+$/.test(ids[0]) };
    },
  );

  parity(
    '-d prints a packet trace on stdout',
    {
      code: 0,
      trace: [
        'sending CONNECT',
        'received CONNACK',
        'sending PUBLISH',
        'received PUBACK',
        'sending DISCONNECT',
      ],
    },
    async (tool, prefix) => {
      const r = await run(tool, 'pub', [...p(), '-t', `${prefix}d`, '-m', 'x', '-q', '1', '-d']);
      return { code: r.code, trace: tracePackets(r.stdout) };
    },
  );

  parity(
    '-D sets MQTT 5 properties (and makes the client MQTT 5)',
    { code: 0, props: { userProperties: { k: 'v' }, contentType: 'text/plain', expiry: true } },
    async (tool, prefix) => {
      const r = await run(tool, 'pub', [
        ...p(),
        '-t',
        `${prefix}props`,
        '-m',
        'x',
        '-D',
        'publish',
        'user-property',
        'k',
        'v',
        '-D',
        'publish',
        'content-type',
        'text/plain',
        '-D',
        'publish',
        'message-expiry-interval',
        '60',
      ]);
      await eventually(() => observer.under(prefix).length > 0, 3000);
      const props = observer.under(prefix)[0]?.properties ?? {};
      return {
        code: r.code,
        props: {
          userProperties: { ...props.userProperties },
          contentType: props.contentType,
          expiry:
            (props.messageExpiryInterval ?? 0) > 0 && (props.messageExpiryInterval ?? 0) <= 60,
        },
      };
    },
  );

  parity(
    '-D with a property the command does not take is refused before connecting',
    { code: 1, delivered: 0 },
    async (tool, prefix) => {
      const r = await run(tool, 'pub', [
        ...p(),
        '-t',
        `${prefix}bad`,
        '-m',
        'x',
        '-D',
        'connect',
        'content-type',
        'text/plain',
      ]);
      return { code: r.code, delivered: observer.under(prefix).length };
    },
  );

  parity(
    '-L gives broker, credentials and topic in one URL',
    { code: 0, messages: ['url:x:q0'], username: 'lu' },
    async (tool, prefix) => {
      const before = connected.length;
      const url = `mqtt://lu:lp@127.0.0.1:${tb.port}/${prefix}url`;
      const r = await run(tool, 'pub', ['-L', url, '-m', 'x']);
      const result = await delivered(prefix, r.code, 1);
      return { ...result, username: connected.slice(before).at(-1)?.username };
    },
  );

  parity(
    '-A binds the socket to a local address',
    { code: 0, from: '127.0.0.2' },
    async (tool, prefix) => {
      const before = connected.length;
      const r = await run(tool, 'pub', [...p(), '-t', `${prefix}a`, '-m', 'x', '-A', '127.0.0.2']);
      const from = connected
        .slice(before)
        .at(-1)
        ?.remoteAddress?.replace(/^::ffff:/, '');
      return { code: r.code, from };
    },
  );

  parity(
    '--unix connects through a Unix domain socket',
    { code: 0, messages: ['unix:x:q0'], throughSocket: 1 },
    async (tool, prefix) => {
      const fwd = await forwardUnixToTcp(tb.port);
      try {
        const r = await run(tool, 'pub', ['--unix', fwd.path, '-t', `${prefix}unix`, '-m', 'x']);
        return { ...(await delivered(prefix, r.code, 1)), throughSocket: fwd.accepted };
      } finally {
        await fwd.close();
      }
    },
  );

  parity(
    '--nodelay publishes as usual',
    { code: 0, messages: ['nd:x:q1'] },
    async (tool, prefix) => {
      const r = await run(tool, 'pub', [
        ...p(),
        '-t',
        `${prefix}nd`,
        '-m',
        'x',
        '-q',
        '1',
        '--nodelay',
      ]);
      return delivered(prefix, r.code, 1);
    },
  );

  parity(
    '--repeat and --repeat-delay send the message again after a pause',
    { code: 0, messages: ['rep:again:q1', 'rep:again:q1', 'rep:again:q1'] },
    async (tool, prefix) => {
      const args = ['-t', `${prefix}rep`, '-m', 'again', '-q', '1'];
      const r = await run(tool, 'pub', [...p(), ...args, '--repeat', '3', '--repeat-delay', '0.1']);
      return delivered(prefix, r.code, 3);
    },
  );

  parity(
    '-f sends a binary file byte for byte',
    {
      code: 0,
      messages: [`bin:${Buffer.from([0xff, 0x00, 0xfe, 0x0a, 0x80]).toString('latin1')}:q1`],
    },
    async (tool, prefix) => {
      const file = join(dir, 'binary.bin');
      writeFileSync(file, Buffer.from([0xff, 0x00, 0xfe, 0x0a, 0x80]));
      const r = await run(tool, 'pub', [...p(), '-t', `${prefix}bin`, '-f', file, '-q', '1']);
      return delivered(prefix, r.code, 1);
    },
  );

  parity(
    'a topic with a wildcard is refused locally: exit 1, nothing sent',
    { code: 1, delivered: 0 },
    async (tool, prefix) => {
      const r = await run(tool, 'pub', [...p(), '-t', `${prefix}a/#`, '-m', 'x']);
      return { code: r.code, delivered: observer.under(prefix).length };
    },
  );
});

describe('pub failures: named reasons, CONNACK codes as exit codes, --quiet', () => {
  parity(
    'a refused MQTT 3.1.1 connection exits with the return code and names it',
    { code: 4, named: true },
    async (tool, prefix) => {
      const r = await run(tool, 'pub', [
        ...p(),
        '-t',
        `${prefix}x`,
        '-m',
        'x',
        '-u',
        'alice',
        '-P',
        'no',
      ]);
      return { code: r.code, named: /bad user name or password/i.test(r.stderr) };
    },
  );

  parity(
    'a refused MQTT 5 connection exits with the reason code and names it',
    { code: 134, named: true },
    async (tool, prefix) => {
      const args = ['-t', `${prefix}x`, '-m', 'x', '-u', 'alice', '-P', 'no', '-V', '5'];
      const r = await run(tool, 'pub', [...p(), ...args]);
      return { code: r.code, named: /Bad User Name or Password/.test(r.stderr) };
    },
  );

  parity(
    '--quiet prints nothing on stderr and keeps the exit code',
    { refused: { code: 4, stderr: '' }, noBroker: { code: 1, stderr: '' } },
    async (tool, prefix) => {
      const args = ['-t', `${prefix}q`, '-m', 'x', '--quiet'];
      const refused = await run(tool, 'pub', [...p(), ...args, '-u', 'alice', '-P', 'no']);
      const noBroker = await run(tool, 'pub', ['-p', String(await freePort()), ...args]);
      return {
        refused: { code: refused.code, stderr: refused.stderr },
        noBroker: { code: noBroker.code, stderr: noBroker.stderr },
      };
    },
  );
});
