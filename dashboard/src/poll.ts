/** Repeating a request while a page is shown. */
import { useEffect, useState } from 'preact/hooks';

/**
 * Runs `task` now and then every `everyMs` while the component is shown (one at a time: the
 * next run is scheduled when the previous one settles). Returns the last error, if any.
 */
export function usePoll(task: () => Promise<void>, everyMs: number, deps: unknown[] = []): string {
  const [error, setError] = useState('');
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      try {
        await task();
        if (!stopped) setError('');
      } catch (err) {
        if (!stopped) setError((err as Error).message);
      }
      if (!stopped) timer = setTimeout(run, everyMs);
    };
    void run();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, deps);
  return error;
}
