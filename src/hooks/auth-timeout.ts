/**
 * Bounds the time a hook may take, so a hung auth or policy service denies instead of
 * leaving connections, publishes and subscriptions waiting forever.
 */
import type { AuthenticateResult, Hook, Verdict } from '../core/index.js';
import type { Logger } from '../ports/index.js';
import { silentLogger } from '../ports/index.js';
import { ReasonCode } from '../protocol/index.js';

/** Options of {@link withTimeout}. */
export interface TimeoutOptions {
  /** Longest wait for one answer, in milliseconds. */
  timeoutMs: number;
  /** Where timeouts and failures are reported (warn / error). */
  logger?: Logger;
}

type Fallback<T> = { value: T; what: string };

/**
 * Settles with `value` when it is not a promise; otherwise with its result, or with
 * `fallback` after `timeoutMs` or if it rejects (both logged). A late result is ignored.
 */
function bounded<T>(
  value: T | Promise<T>,
  fallback: Fallback<T>,
  hookName: string,
  options: TimeoutOptions,
): T | Promise<T> {
  if (!(value instanceof Promise)) return value;
  const logger = options.logger ?? silentLogger;
  return new Promise<T>((resolve) => {
    const timer = setTimeout(() => {
      logger.warn(
        { hook: hookName, timeoutMs: options.timeoutMs },
        `hook did not answer in time: ${fallback.what}`,
      );
      resolve(fallback.value);
    }, options.timeoutMs);
    value.then(
      (result) => {
        clearTimeout(timer);
        resolve(result);
      },
      (err: unknown) => {
        clearTimeout(timer);
        logger.error({ hook: hookName, err }, `hook failed: ${fallback.what}`);
        resolve(fallback.value);
      },
    );
  });
}

/** Runs `fn`, turning a synchronous throw into a rejected promise for {@link bounded}. */
function attempt<T>(fn: () => T | Promise<T>): T | Promise<T> {
  try {
    return fn();
  } catch (err) {
    return Promise.reject(err);
  }
}

const TIMED_OUT_AUTH: AuthenticateResult = {
  result: 'deny',
  reasonCode: ReasonCode.NotAuthorized,
};

/**
 * `hook` with its asynchronous decisions bounded by `timeoutMs`: authenticate denies with
 * 0x87 Not authorized (v3: 0x05), authorizePublish and authorizeSubscribe deny, onPublish
 * drops the message. A hook that throws or rejects gets the same answer. Synchronous answers
 * pass straight through; notifications and onDeliver (synchronous) are not wrapped.
 */
export function withTimeout(hook: Hook, options: TimeoutOptions): Hook {
  const name = hook.name ?? 'hook';
  const wrapped: Hook = { ...hook, name };
  const { authenticate, authorizePublish, authorizeSubscribe, onPublish } = hook;
  if (authenticate) {
    wrapped.authenticate = (request) =>
      bounded(
        attempt(() => authenticate.call(hook, request)),
        { value: TIMED_OUT_AUTH, what: 'client refused' },
        name,
        options,
      );
  }
  if (authorizePublish) {
    wrapped.authorizePublish = (client, publish) =>
      bounded<Verdict>(
        attempt(() => authorizePublish.call(hook, client, publish)),
        { value: 'deny', what: 'publish denied' },
        name,
        options,
      );
  }
  if (authorizeSubscribe) {
    wrapped.authorizeSubscribe = (client, subscription) =>
      bounded(
        attempt(() => authorizeSubscribe.call(hook, client, subscription)),
        { value: 'deny' as const, what: 'subscription denied' },
        name,
        options,
      );
  }
  if (onPublish) {
    wrapped.onPublish = (client, message) =>
      bounded(
        attempt(() => onPublish.call(hook, client, message)),
        { value: null, what: 'message dropped' },
        name,
        options,
      );
  }
  return bindRest(wrapped, hook);
}

/** Binds the members copied by spread (notifications, onDeliver) to the original hook. */
function bindRest(wrapped: Hook, hook: Hook): Hook {
  const out = wrapped as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(hook)) {
    if (typeof value === 'function' && out[key] === value) out[key] = value.bind(hook);
  }
  return wrapped;
}
