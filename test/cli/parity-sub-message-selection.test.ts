/**
 * Flag parity, subscribing side, which messages are printed: mosquitto_sub and `pipit sub`
 * skip stale retained messages (-R) and filtered topics (-T), stop after the retained ones
 * (--retained-only) and clear them (--remove-retained) alike, against one Pipit broker.
 */
import { describe } from 'node:test';
import mqtt from 'mqtt';
import { run, sleep } from './parity/harness.js';
import {
  outcome,
  p,
  parity,
  publish,
  subWhilePublishing,
  tb,
  useSubBroker,
} from './parity/sub-fixture.js';

useSubBroker();

describe('sub flags: mosquitto_sub and pipit sub give the same result', () => {
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
});
