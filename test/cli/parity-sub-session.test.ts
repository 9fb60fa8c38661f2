/**
 * Flag parity, subscribing side, sessions: mosquitto_sub and `pipit sub` resume a kept
 * session (-c, -x) and change its subscriptions (-U) alike, against one Pipit broker.
 */
import { describe } from 'node:test';
import { run } from './parity/harness.js';
import { outcome, p, parity, publish, useSubBroker } from './parity/sub-fixture.js';

useSubBroker();

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
});
