/**
 * What the subscribing-side parity tests (test/cli/parity-sub-*.test.ts) share: one Pipit
 * broker per file, an observer connection, the clients the broker saw connect, and helpers to
 * publish and to read a run's outcome. Topics carry a 3-letter tag per tool (`mos`, `pip`),
 * removed from the output before comparing. Not a test file.
 */
import { after, before } from 'node:test';
import type { ClientInfo } from '../../../src/index.js';
import { startBroker, type TestBroker } from '../../helpers/broker.js';
import {
  Observer,
  parity as parityCase,
  type RunResult,
  sleep,
  start,
  type Tool,
} from './harness.js';

/** The broker of the running file (set by useSubBroker's `before`). */
export let tb: TestBroker;
/** A connection that sees every will published under `ps-will/`. */
export let observer: Observer;
/** Every client that connected to `tb`, in order. */
export const connected: ClientInfo[] = [];

/** Starts the file's broker and observer before its tests, and stops them after. */
export function useSubBroker(): void {
  before(async () => {
    tb = await startBroker();
    tb.broker.on('clientConnected', (info) => connected.push(info));
    observer = await Observer.open(tb.url, 'ps-will/#');
  });
  after(async () => {
    await observer.close();
    await tb.close();
  });
}

export const parity = (
  name: string,
  expected: unknown,
  observe: Parameters<typeof parityCase>[3],
) => parityCase('ps', name, expected, observe);
export const p = (): string[] => ['-p', String(tb.port)];

/** Publishes through the observer's connection. */
export function publish(topic: string, payload: string | Buffer, qos: 0 | 1 = 1, retain = false) {
  return observer.client.publishAsync(topic, payload, { qos, retain });
}

/** Exit code and stdout with the tool's topic prefix removed. */
export function outcome(r: RunResult, prefix: string) {
  return { code: r.code, stdout: r.stdout.toString('latin1').replaceAll(prefix, '') };
}

/** Runs a sub that ends on -C while `live` is published every 100 ms (it may not be subscribed yet). */
export async function subWhilePublishing(
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
