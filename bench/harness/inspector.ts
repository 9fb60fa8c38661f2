/**
 * A minimal Chrome DevTools Protocol client for a broker started with `--inspect`: forced
 * GCs and readings by evaluation, heap snapshots, the sampling heap profiler
 * (bench/idle-heap.bench.ts, bench/message-alloc.bench.ts).
 */
import { writeFileSync } from 'node:fs';
import WebSocket from 'ws';

/** A minimal Chrome DevTools Protocol session over the broker's inspector socket. */
export class Inspector {
  private next = 1;
  private waiting = new Map<number, { ok: (r: unknown) => void; fail: (e: Error) => void }>();
  /**
   * The broker's main context (from Runtime.enable), named in every evaluation: without it,
   * an evaluation sometimes failed with "Cannot find context with specified id".
   */
  private contextId: number | undefined;
  /** Where the chunks of the heap snapshot being taken go. */
  private chunks: string[] | undefined;
  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data)) as {
        id?: number;
        method?: string;
        params?: { chunk?: string; context?: { id: number; auxData?: { isDefault?: boolean } } };
        result?: unknown;
        error?: unknown;
      };
      if (msg.method === 'Runtime.executionContextCreated') {
        const context = msg.params?.context;
        if (context?.auxData?.isDefault) this.contextId = context.id;
        return;
      }
      if (msg.method === 'HeapProfiler.addHeapSnapshotChunk') {
        this.chunks?.push(msg.params?.chunk ?? '');
        return;
      }
      if (msg.id === undefined) return;
      const done = this.waiting.get(msg.id);
      this.waiting.delete(msg.id);
      if (msg.error) done?.fail(new Error(`inspector #${msg.id}: ${JSON.stringify(msg.error)}`));
      else done?.ok(msg.result);
    });
  }
  static open(url: string): Promise<Inspector> {
    return new Promise((ok, fail) => {
      const ws = new WebSocket(url);
      ws.once('open', () => ok(new Inspector(ws)));
      ws.once('error', fail);
    });
  }
  call(method: string, params: object = {}): Promise<unknown> {
    const id = this.next++;
    this.ws.send(JSON.stringify({ id, method, params }));
    return new Promise((ok, fail) => this.waiting.set(id, { ok, fail }));
  }
  /** Writes a heap snapshot of the broker to `file`. */
  async snapshot(file: string): Promise<void> {
    this.chunks = [];
    await this.call('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
    writeFileSync(file, this.chunks.join(''));
    this.chunks = undefined;
  }
  /**
   * Evaluates `expression` in the broker; returns its JSON value. Now and then (1 run in 4
   * here) the first evaluation after a long idle fails with "Cannot find context with
   * specified id", even naming the context; it is tried again, at most 5 times.
   */
  async evaluate<T>(expression: string): Promise<T> {
    if (this.contextId === undefined) await this.call('Runtime.enable');
    const params = { expression, contextId: this.contextId, returnByValue: true };
    let r: { result: { value: T }; exceptionDetails?: unknown } | undefined;
    for (let attempt = 1; r === undefined; attempt++) {
      try {
        r = (await this.call('Runtime.evaluate', params)) as typeof r;
      } catch (err) {
        if (attempt >= 5 || !/Cannot find context/.test(String(err))) throw err;
        await new Promise((ok) => setTimeout(ok, 200));
      }
    }
    if (r.exceptionDetails) throw new Error(`evaluate: ${JSON.stringify(r.exceptionDetails)}`);
    return r.result.value;
  }
  close(): void {
    this.ws.close();
  }
}
