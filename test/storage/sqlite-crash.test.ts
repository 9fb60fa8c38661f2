/** Nothing acknowledged is lost on kill -9: a writer process is killed mid-stream. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SqliteStore } from '../../src/storage/index.js';

const WRITER = fileURLToPath(new URL('./crash-writer.ts', import.meta.url));

/** Runs the writer until it has acknowledged `acks` messages, then SIGKILLs it. */
function runAndKill(dataDir: string, acks: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dataDir], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines: string[] = [];
    let buffered = '';
    let killed = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the writer acknowledged only ${lines.length} messages in 60 s`));
    }, 60_000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      for (const line of parts) if (line !== 'ready') lines.push(line);
      if (!killed && lines.length >= acks) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`the writer exited on its own (${code})`));
      else resolve(lines); // an unfinished last line was never acknowledged
    });
  });
}

test('kill -9 in fsync mode: every acknowledged message is in the store after reopening', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'pipit-crash-'));
  try {
    for (let round = 0; round < 2; round++) {
      const acked = await runAndKill(dataDir, 200);
      assert.ok(acked.length >= 200);
      const store = new SqliteStore({ dataDir });
      await store.open();
      const state = await store.load();
      const byClient = new Map<string, Map<number, number>>();
      for (const s of state.sessions) {
        const { entries } = await store.readQueue(s.clientId, 0, 1_000_000);
        byClient.set(s.clientId, new Map(entries.map((e) => [e.seq, e.delivery.messageId])));
      }
      for (const line of acked) {
        const [clientId, seq, id] = line.split(' ');
        assert.equal(
          byClient.get(clientId)?.get(Number(seq)),
          Number(id),
          `acknowledged ${line} is missing after kill -9 (round ${round})`,
        );
      }
      const maxAckedId = Math.max(...acked.map((l) => Number(l.split(' ')[2])));
      assert.ok(state.lastMessageId >= maxAckedId);
      await store.close();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
