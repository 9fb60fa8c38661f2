/**
 * Flag parity, subscribing side, the connection: mosquitto_sub and `pipit sub` connect alike
 * (-L, --unix, -I, -A, -D, -W) and leave the same will when killed, against one Pipit broker.
 */
import { describe } from 'node:test';
import mqtt from 'mqtt';
import { forwardUnixToTcp } from '../helpers/unix-forwarder.js';
import { eventually, run, sleep, start } from './parity/harness.js';
import {
  connected,
  observer,
  outcome,
  p,
  parity,
  publish,
  tb,
  useSubBroker,
} from './parity/sub-fixture.js';

useSubBroker();

describe('sub flags: mosquitto_sub and pipit sub give the same result', () => {
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
