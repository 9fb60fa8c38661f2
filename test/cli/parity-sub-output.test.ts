/**
 * Flag parity, subscribing side, output: mosquitto_sub and `pipit sub` print messages alike
 * (-N, -F and its fields, %j, --pretty, -v with empty and binary payloads, the -d trace),
 * against one Pipit broker.
 */
import { describe } from 'node:test';
import { run, sleep, start, tracePackets } from './parity/harness.js';
import { outcome, p, parity, publish, useSubBroker } from './parity/sub-fixture.js';

useSubBroker();

describe('sub flags: mosquitto_sub and pipit sub give the same result', () => {
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
});
