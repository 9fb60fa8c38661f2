import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readiness } from '../../src/http/health.js';
import { createBroker, type ListenerAddress } from '../../src/index.js';
import type { LoadedState } from '../../src/ports/index.js';
import { MemoryStore } from '../../src/storage/index.js';
import { assertProblem } from '../helpers/http.js';

/** A promise and its resolve, to hold a store step until the test lets it go. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

/** The memory store, with its restore (`load`) and `close` held until their gates open. */
class GatedStore extends MemoryStore {
  readonly loading = gate();
  readonly closing = gate();
  override async load(): Promise<LoadedState> {
    await this.loading.wait;
    return super.load();
  }
  override async close(): Promise<void> {
    await this.closing.wait;
    return super.close();
  }
}

interface Readiness {
  status: string;
  checks: { name: string; ready: boolean; detail: string }[];
}

async function readyz(http: ListenerAddress): Promise<{ status: number; body: Readiness }> {
  const res = await fetch(`${http.url}/readyz`);
  assert.equal(res.headers.get('content-type'), 'application/json');
  return { status: res.status, body: (await res.json()) as Readiness };
}

function detail(body: Readiness, name: string): string | undefined {
  return body.checks.find((c) => c.name === name)?.detail;
}

describe('GET /healthz and /readyz', () => {
  it('/healthz answers 200 while the process serves, before the store is even open', async () => {
    const store = new GatedStore();
    const broker = createBroker({ store });
    const http = await broker.listen({ type: 'http', port: 0 });
    const res = await fetch(`${http.url}/healthz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'alive' });
    store.loading.open();
    store.closing.open();
    await broker.close();
  });

  it('/readyz answers 503 until the store is restored and the MQTT listener is up, then 200', async () => {
    const store = new GatedStore();
    const broker = createBroker({ store });
    const http = await broker.listen({ type: 'http', port: 0 });
    const notStarted = await readyz(http);
    assert.equal(notStarted.status, 503);
    assert.equal(detail(notStarted.body, 'store'), 'the broker has not been started yet');
    assert.equal(detail(notStarted.body, 'listeners'), 'no MQTT listener is up');

    const listening = broker.listen({ port: 0 });
    const restoring = await readyz(http);
    assert.equal(restoring.status, 503);
    assert.equal(restoring.body.status, 'not ready');
    assert.equal(detail(restoring.body, 'store'), 'opening the store and restoring its state');
    assert.equal(detail(restoring.body, 'listeners'), '1 MQTT listener(s) starting');
    assert.equal(detail(restoring.body, 'shutdown'), 'ok');

    store.loading.open();
    await listening;
    const ready = await readyz(http);
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.body, {
      status: 'ready',
      checks: [
        { name: 'store', ready: true, detail: 'ok' },
        { name: 'listeners', ready: true, detail: 'ok' },
        { name: 'shutdown', ready: true, detail: 'ok' },
      ],
    });
    store.closing.open();
    await broker.close();
  });

  it('/readyz answers 503 once close() began, while the store closes; the listener closes last', async () => {
    const store = new GatedStore();
    store.loading.open();
    const broker = createBroker({ store });
    await broker.listen({ port: 0 });
    const http = await broker.listen({ type: 'http', port: 0 });
    assert.equal((await readyz(http)).status, 200);
    const closed = broker.close();
    const closing = await readyz(http);
    assert.equal(closing.status, 503);
    assert.equal(detail(closing.body, 'shutdown'), 'the broker is shutting down');
    store.closing.open();
    await closed;
    await assert.rejects(fetch(`${http.url}/readyz`), TypeError);
  });

  it('/readyz reports a store that failed to open', async () => {
    const store = new MemoryStore();
    store.load = () => Promise.reject(new Error('disk on fire'));
    const broker = createBroker({ store });
    const http = await broker.listen({ type: 'http', port: 0 });
    await assert.rejects(broker.listen({ port: 0 }), /disk on fire/);
    const failed = await readyz(http);
    assert.equal(failed.status, 503);
    assert.equal(detail(failed.body, 'store'), 'the store failed to open: disk on fire');
    await broker.close();
  });

  it('/readyz includes checks added with addReadinessCheck (the cluster seam)', async () => {
    const broker = createBroker();
    await broker.listen({ port: 0 });
    const http = await broker.listen({ type: 'http', port: 0 });
    let reachable = false;
    broker.addReadinessCheck({
      name: 'redis',
      check: async () => (reachable ? undefined : 'redis at 127.0.0.1:6379 does not answer PING'),
    });
    broker.addReadinessCheck({
      name: 'thrower',
      check: () => {
        if (!reachable) throw new Error('boom');
        return undefined;
      },
    });
    const down = await readyz(http);
    assert.equal(down.status, 503);
    assert.equal(detail(down.body, 'redis'), 'redis at 127.0.0.1:6379 does not answer PING');
    assert.equal(detail(down.body, 'thrower'), 'check failed: boom');
    reachable = true;
    assert.equal((await readyz(http)).status, 200);
    await broker.close();
  });

  it('a readiness check that does not answer in time counts as not ready', async () => {
    const report = await readiness(
      [{ name: 'stuck', check: () => new Promise<undefined>(() => {}) }],
      20,
    );
    assert.deepEqual(report, {
      status: 'not ready',
      checks: [{ name: 'stuck', ready: false, detail: 'no answer within 20 ms' }],
    });
  });

  it('answers 405 to a POST and 404 below the health paths', async () => {
    const broker = createBroker();
    const http = await broker.listen({ type: 'http', port: 0 });
    await assertProblem(
      await fetch(`${http.url}/healthz`, { method: 'POST' }),
      405,
      /use GET or HEAD/,
    );
    await assertProblem(
      await fetch(`${http.url}/readyz`, { method: 'PUT' }),
      405,
      /PUT is not supported/,
    );
    await assertProblem(await fetch(`${http.url}/healthz/deep`), 404, /try \/healthz/);
    await broker.close();
  });

  it('reports the HTTP listener among the broker addresses, after the MQTT ones', async () => {
    const broker = createBroker();
    const mqtt = await broker.listen({ port: 0 });
    const http = await broker.listen({ type: 'http', port: 0, name: 'ops' });
    assert.equal(http.protocol, 'http');
    assert.equal(http.host, '127.0.0.1');
    assert.deepEqual(broker.addresses, [mqtt, http]);
    await broker.close();
  });
});
