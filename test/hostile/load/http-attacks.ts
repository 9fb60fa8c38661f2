/**
 * Hostile load on the HTTP listener: the check every case makes (a fresh `/healthz` and an
 * authenticated admin API call answer within a second), and the attackers: idle sockets,
 * requests sent a byte at a time, bodies trickled, and a flood of wrong bearer tokens, each
 * from a loopback address of its own (127.0.0.x) so that per-address caps see one source.
 * Not a test file.
 */
import { once } from 'node:events';
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { SERVED_WITHIN_MS, sleep } from './harness.js';

// biome-ignore lint/suspicious/noExplicitAny: the counters are untyped JSON the tests read
export type Counters = any;

/**
 * Proves the HTTP listener still serves: `GET /healthz` and `GET /api/v1/counters` with
 * `token`, each on a new connection (`Connection: close`) from 127.0.0.1, answer 200 within
 * `withinMs`. Resolves with the counters.
 */
export async function assertHttpServed(
  base: string,
  token: string,
  tag: string,
  withinMs = SERVED_WITHIN_MS,
): Promise<Counters> {
  const timed = async (path: string, headers: Record<string, string>): Promise<Response> => {
    const started = performance.now();
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        headers: { connection: 'close', ...headers },
        signal: AbortSignal.timeout(withinMs),
      });
    } catch (err) {
      throw new Error(`${tag}: ${path} not answered within ${withinMs} ms (${err})`);
    }
    const elapsed = performance.now() - started;
    if (res.status !== 200) throw new Error(`${tag}: ${path} answered ${res.status}`);
    if (elapsed > withinMs) throw new Error(`${tag}: ${path} answered in ${elapsed.toFixed(0)} ms`);
    return res;
  };
  await (await timed('/healthz', {})).text();
  return (await timed('/api/v1/counters', { authorization: `Bearer ${token}` })).json();
}

/** Opens a socket to `port` from `localAddress`; resolves once connected (or closed). */
export async function openFrom(port: number, localAddress: string): Promise<Socket> {
  const socket = connect({ port, host: '127.0.0.1', localAddress });
  socket.on('error', () => {});
  // Read what comes (a 408, the close): a socket nobody reads never sees the peer's FIN.
  socket.resume();
  await Promise.race([once(socket, 'connect'), once(socket, 'close')]);
  return socket;
}

/** Resolves when every socket has closed, or rejects after `timeoutMs` saying how many are open. */
export async function allClosed(sockets: readonly Socket[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = sockets.filter((s) => !s.destroyed).length;
    if (open === 0) return;
    if (Date.now() > deadline) throw new Error(`${open} sockets still open after ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** A background attack, running until `stop()`. */
export interface Attack {
  /** Stops it and closes what it holds; resolves with what it counted. */
  stop(): Promise<Record<string, number>>;
}

/**
 * Slow requests from `localAddress`: `count` connections that each send a request's headers a
 * byte every `byteEveryMs`, and (with `body`) as many that send complete headers of a POST
 * and then trickle its announced body. Counts the answers' status lines (`408`, ...) and the
 * connections closed without one (`closed`).
 */
export function slowRequests(
  port: number,
  localAddress: string,
  count: number,
  byteEveryMs: number,
  token: string,
): Attack {
  const counted: Record<string, number> = {};
  let running = true;
  const sockets: Socket[] = [];
  const trickle = async (head: string, bytes: string): Promise<void> => {
    const socket = await openFrom(port, localAddress);
    sockets.push(socket);
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('close', () => {
      const status = /^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 'closed';
      counted[status] = (counted[status] ?? 0) + 1;
    });
    if (!socket.destroyed) socket.write(head);
    for (const byte of bytes) {
      if (!running || socket.destroyed) return;
      socket.write(byte);
      await sleep(byteEveryMs);
    }
  };
  const header = `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ${'s'.repeat(200)}\r\n\r\n`;
  const post =
    `POST /api/v1/publish HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n` +
    'Content-Type: application/json\r\nContent-Length: 400\r\n\r\n';
  const body = `{"topic":"slow","payload":"${'b'.repeat(375)}"}`;
  const runs: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    runs.push(trickle('', header), trickle(post, body));
  }
  return {
    async stop() {
      running = false;
      await Promise.allSettled(runs);
      for (const socket of sockets) socket.destroy();
      await allClosed(sockets, 5000);
      return counted;
    },
  };
}

/**
 * Guesses bearer tokens from `localAddress`: `parallel` loops, each sending `GET
 * /api/v1/clients` with a random wrong token on a kept-alive connection, as fast as answers
 * come. Counts the answers by status.
 */
export function tokenGuessing(port: number, localAddress: string, parallel: number): Attack {
  const counted: Record<string, number> = {};
  const agent = new Agent({ keepAlive: true, maxSockets: parallel });
  let running = true;
  const guess = (): Promise<void> =>
    new Promise((resolve) => {
      const wrong = `pipit_${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
      const req = request(
        { port, host: '127.0.0.1', localAddress, agent, path: '/api/v1/clients' },
        (res) => {
          const status = String(res.statusCode);
          counted[status] = (counted[status] ?? 0) + 1;
          res.resume();
          res.on('end', resolve);
        },
      );
      req.setHeader('authorization', `Bearer ${wrong}`);
      req.on('error', () => {
        counted.error = (counted.error ?? 0) + 1;
        resolve();
      });
      req.end();
    });
  const loop = async (): Promise<void> => {
    while (running) {
      await guess();
      // A refused address is told to wait: an attacker keeps going, a little slower.
      if ((counted.error ?? 0) > 0) await sleep(5);
    }
  };
  const loops = Array.from({ length: parallel }, loop);
  return {
    async stop() {
      running = false;
      await Promise.allSettled(loops);
      agent.destroy();
      return counted;
    },
  };
}
