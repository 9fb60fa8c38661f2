/**
 * The Redis store killed (SIGKILL) right after a batch that removes queue and inflight
 * entries: no message body may stay in Redis with no entry referencing it, and none that an
 * entry references may go. Each message's count must equal the entries that name it. The
 * references were once taken back in the batch after the removal, so a kill between the two
 * left the bodies behind for good (docs/cluster.md, "Crash loop": 18 to 53 per 20-kill run).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { readReferences, scanKeys, wrongReferences } from '../helpers/redis-references.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';
import { ONCE_BASE } from './redis-release-ids.js';

const WRITER = fileURLToPath(new URL('./redis-release-writer.ts', import.meta.url));

const servers: RedisServer[] = [];
after(async () => {
  for (const s of servers) await s.destroy();
});

/**
 * Runs the writer in `mode` against `url` until it killed itself (`once`) or printed `lines`
 * lines (`loop`: then the test kills it); resolves with what it printed.
 */
function runWriter(url: string, mode: 'once' | 'loop', lines = 0): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, url, mode], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const printed: string[] = [];
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the writer printed only ${printed.length} lines in 60 s`));
    }, 60_000);
    createInterface({ input: child.stdout }).on('line', (line) => {
      printed.push(line);
      if (mode === 'loop' && printed.length >= lines) child.kill('SIGKILL');
    });
    // 'close' (not 'exit'): once its output is read to the end.
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`the writer exited on its own (${code})`));
      else resolve(printed);
    });
  });
}

/** Asserts that each message's count is the number of entries naming it, with its body. */
async function assertReferencesExact(redis: Redis): Promise<void> {
  assert.deepEqual(wrongReferences(await readReferences(redis)), []);
  assert.equal(await redis.exists('pipit:released'), 0, 'the released set is empty');
}

test('killed right after a batch that removes entries: only the referenced body is left, its count exact', async () => {
  const s = await startRedisServer();
  servers.push(s);
  assert.deepEqual(await runWriter(s.url, 'once'), ['committed']);
  const redis = new Redis(s.url);
  try {
    const left = await scanKeys(redis, 'pipit:m:*');
    // Messages + 1, 2, 3, 5 and 6 lost their last entry in the batch before the kill.
    assert.deepEqual(left, [`pipit:m:${ONCE_BASE + 4}`]);
    assert.equal(await redis.hget(`pipit:m:${ONCE_BASE + 4}`, 'r'), '1');
    await assertReferencesExact(redis);
  } finally {
    redis.disconnect();
  }
});

test('killed while entries come and go on four clients: every count equals the entries naming its message', async () => {
  const s = await startRedisServer();
  servers.push(s);
  const redis = new Redis(s.url);
  try {
    for (let round = 0; round < 3; round++) {
      const printed = await runWriter(s.url, 'loop', 300 + 150 * round);
      assert.ok(printed.length >= 300);
      await assertReferencesExact(redis);
    }
  } finally {
    redis.disconnect();
  }
});
