/**
 * Hostile load: floods of bad logins against the real `pipit broker` (a child process with
 * a password file at the default PBKDF2 cost, ~100 ms per check). Each case floods from
 * several loopback sources (per-address limits switched on for loopback) while good logins
 * from another source, right password, are each served within a second (CONNACK, SUBACK
 * and a round trip: assertServed), during the flood and right after it stops, with the
 * broker alive and its RSS under a bound.
 *
 * Before the login guard, the first case's flood (40/s from 4 sources) left 5 of 80 good
 * logins answered within a second during it and none for 10 s after it (bench/login-flood
 * .bench.ts, see the report): every bad login cost a hash, queued on the thread pool in
 * arrival order, including hashes for connections already closed.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PasswordFile } from '../../../src/hooks/index.js';
import { connectBytes, RawClient } from '../../helpers/raw-client.js';
import {
  assertRssGrowthBelow,
  assertServed,
  LoadBroker,
  SERVED_WITHIN_MS,
  sleep,
  tempDir,
} from './harness.js';

/** Users of the password file; each one's password is `<name>-secret`. */
const USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi'];
/** The broker's resident set stays under this during and after every flood. */
const RSS_GROWTH_MIB = 145;
/** Where good logins come from (the flood never uses it). */
const GOOD_SOURCE = '127.0.0.2';

let passwordPath: string;

before(async () => {
  const file = PasswordFile.parse('');
  for (const user of USERS) await file.set(user, `${user}-secret`);
  passwordPath = join(tempDir('pipit-login-load-'), 'passwords.txt');
  await file.save(passwordPath);
});

/** Starts a broker with the password file, per-address limits on loopback, and `login`. */
function startBroker(login = ''): Promise<LoadBroker> {
  const lines = login === '' ? '' : `  login:\n${login.replace(/^/gm, '    ')}\n`;
  return LoadBroker.start({
    config: `auth:\n  passwordFile: ${passwordPath}\n${lines}limits:\n  addressLimitsOnLoopback: true\n`,
  });
}

/** A flood of bad logins running in the background until `stop()`. */
interface Flood {
  /** Stops sending; resolves once every bad login got its answer (or gave up). */
  stop(): Promise<{ sent: number; answers: Record<string, number> }>;
}

/**
 * Sends `perSecond` bad logins, each on a new connection, from `sources` loopback addresses
 * (127.0.0.10 ...) in turn; `username(i)` names the user of the i-th.
 */
function flood(
  broker: LoadBroker,
  perSecond: number,
  sources: number,
  username: (i: number) => string,
): Flood {
  const answers: Record<string, number> = {};
  const pending = new Set<Promise<void>>();
  let sent = 0;
  let running = true;
  const one = async (i: number): Promise<void> => {
    let client: RawClient | undefined;
    let answer = 'no answer';
    try {
      client = await RawClient.openFrom(broker.port, 4, `127.0.0.${10 + (i % sources)}`);
      client.write(connectBytes(4, '', { username: username(i), password: Buffer.from('wrong') }));
      const connack = await client.next('connack', 12_000);
      answer = `0x${connack.reasonCode.toString(16)}`;
    } catch {
      // Closed or timed out without a CONNACK: counted as 'no answer'.
    } finally {
      client?.destroy();
    }
    answers[answer] = (answers[answer] ?? 0) + 1;
  };
  const started = performance.now();
  const loop = (async () => {
    while (running) {
      const due = Math.floor(((performance.now() - started) / 1000) * perSecond);
      for (; sent < due; sent++) {
        const p = one(sent).finally(() => pending.delete(p));
        pending.add(p);
      }
      await sleep(10);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await Promise.all([...pending]);
      return { sent, answers };
    },
  };
}

/** Runs `body` while `attack` floods; the flood is stopped even when `body` throws. */
async function during<T>(attack: Flood, body: () => Promise<T>) {
  let value: T;
  try {
    value = await body();
  } catch (err) {
    await attack.stop();
    throw err;
  }
  return { value, result: await attack.stop() };
}

/** Good logins every `everyMs` for `forMs`, each asserted served within a second. */
async function serveWhile(
  broker: LoadBroker,
  forMs: number,
  everyMs: number,
  user: (i: number) => string,
  tag: string,
): Promise<number[]> {
  const times: number[] = [];
  const end = performance.now() + forMs;
  for (let i = 0; performance.now() < end; i++) {
    const name = user(i);
    times.push(
      await assertServed(broker, `${tag}-${i}-${name}`, {
        username: name,
        password: `${name}-secret`,
        localAddress: GOOD_SOURCE,
      }),
    );
    assertRssGrowthBelow(broker, RSS_GROWTH_MIB, `${tag} ${i}`);
    await sleep(everyMs);
  }
  return times;
}

describe('hostile load: bad-login floods', () => {
  let broker: LoadBroker | undefined;
  after(async () => broker?.stop());

  it('40 bad logins/s from 4 sources: good logins are served within a second during and after; no backlog', async (t) => {
    broker = await startBroker();
    const attack = flood(broker, 40, 4, (i) => `nobody-${i}`);
    // alice again and again (cached after her first login), and every few rounds a user
    // who never logged in before (a full check while the flood runs).
    const fresh = ['bob', 'carol', 'dave', 'erin'];
    const { value: times, result } = await during(attack, () =>
      serveWhile(
        broker!,
        10_000,
        400,
        (i) => (i % 4 === 3 ? (fresh[(i - 3) / 4] ?? 'alice') : 'alice'),
        'during',
      ),
    );
    // Right after the flood: a user never checked before, so nothing is cached for her.
    const afterwards = await assertServed(broker, 'after-fresh', {
      username: 'frank',
      password: 'frank-secret',
      localAddress: GOOD_SOURCE,
    });
    assert.ok(broker.alive);
    assertRssGrowthBelow(broker, RSS_GROWTH_MIB, 'after the flood');
    assert.ok(result.sent >= 300, `only ${result.sent} bad logins were sent`);
    assert.ok((result.answers['0x3'] ?? 0) > result.sent / 2, JSON.stringify(result.answers));
    assert.ok(times.every((ms) => ms <= SERVED_WITHIN_MS) && afterwards <= SERVED_WITHIN_MS);
    assert.match(broker.proc.output, /"limit":"login-throttled"/);
    t.diagnostic(`broker peak RSS ${broker.peakRssMiB().toFixed(0)} MiB`);
    await broker.stop();
    broker = undefined;
  });

  it('bad logins aimed at alice from 16 sources lock out neither alice nor the others', async (t) => {
    broker = await startBroker();
    await assertServed(broker, 'alice-before', {
      username: 'alice',
      password: 'alice-secret',
      localAddress: GOOD_SOURCE,
    });
    const attack = flood(broker, 40, 16, () => 'alice');
    const fresh = ['grace', 'heidi'];
    const { result } = await during(attack, () =>
      serveWhile(
        broker!,
        8000,
        400,
        (i) => (i % 5 === 4 ? (fresh[(i - 4) / 5] ?? 'bob') : 'alice'),
        'alice-attacked',
      ),
    );
    await assertServed(broker, 'alice-after', {
      username: 'alice',
      password: 'alice-secret',
      localAddress: GOOD_SOURCE,
    });
    assert.ok(result.sent >= 250, `only ${result.sent} bad logins were sent`);
    assert.ok(broker.alive);
    assertRssGrowthBelow(broker, RSS_GROWTH_MIB, 'after the flood on alice');
    t.diagnostic(`broker peak RSS ${broker.peakRssMiB().toFixed(0)} MiB`);
    await broker.stop();
    broker = undefined;
  });

  it('with the success cache off, 8 sources: logins that all need a full check are still served', async (t) => {
    broker = await startBroker('cacheSize: 0');
    const attack = flood(broker, 30, 8, (i) => `nobody-${i}`);
    const { result } = await during(attack, () =>
      // One a second: each needs a full check, and a check takes ~100 ms of a core.
      serveWhile(broker!, 10_000, 1000, (i) => USERS[i % USERS.length]!, 'uncached'),
    );
    await assertServed(broker, 'uncached-after', {
      username: 'carol',
      password: 'carol-secret',
      localAddress: GOOD_SOURCE,
    });
    assert.ok(result.sent >= 200, `only ${result.sent} bad logins were sent`);
    assert.ok(broker.alive);
    assertRssGrowthBelow(broker, RSS_GROWTH_MIB, 'after the uncached flood');
    t.diagnostic(`broker peak RSS ${broker.peakRssMiB().toFixed(0)} MiB`);
    await broker.stop();
    broker = undefined;
  });
});
