/**
 * A Prometheus stand-in for the `pipit-ops` runs: fetches a broker's `/metrics` at a fixed
 * interval (as a scrape job would, one request at a time) while the run is measured.
 */

/** What a scraper did. */
export interface ScrapeStats {
  scrapes: number;
  failures: number;
  /** Size of the last successful answer. */
  lastBytes: number;
}

/** A running scraper. */
export interface Scraper {
  readonly stats: ScrapeStats;
  /** Stops it and waits for a scrape in progress. */
  stop(): Promise<ScrapeStats>;
}

/** Starts fetching `url` every `intervalMs` (the first scrape at once). */
export function startScraper(url: string, intervalMs = 1000): Scraper {
  const stats: ScrapeStats = { scrapes: 0, failures: 0, lastBytes: 0 };
  let stopped = false;
  let inFlight: Promise<void> = Promise.resolve();
  const scrape = async (): Promise<void> => {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(intervalMs * 5) });
      const text = await res.text();
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      stats.scrapes++;
      stats.lastBytes = text.length;
    } catch {
      stats.failures++;
    }
  };
  const tick = (): void => {
    if (stopped) return;
    inFlight = scrape();
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  return {
    stats,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await inFlight;
      return stats;
    },
  };
}
