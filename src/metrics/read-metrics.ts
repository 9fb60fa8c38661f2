/**
 * Metrics whose values are read at scrape time from counters the broker keeps anyway
 * (`core.metrics`, the sizes of its maps): nothing is pushed on the publish path. Each helper
 * registers one prom-client metric whose `collect` callback copies the current value(s).
 */
import { Counter, Gauge, type Registry } from 'prom-client';

/** Values of a labelled metric: one `[label value, value]` pair per series. */
export type Series = Iterable<readonly [string, number]>;

/** A counter (`_total`) that reads its value at each scrape. */
export function readCounter(
  registry: Registry,
  name: string,
  help: string,
  read: () => number,
): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

/** A counter with one label, whose series are read at each scrape. */
export function readLabelledCounter(
  registry: Registry,
  name: string,
  help: string,
  label: string,
  read: () => Series,
): void {
  new Counter({
    name,
    help,
    labelNames: [label],
    registers: [registry],
    collect() {
      this.reset();
      for (const [value, count] of read()) this.inc({ [label]: value }, count);
    },
  });
}

/** A gauge that reads its value at each scrape. */
export function readGauge(
  registry: Registry,
  name: string,
  help: string,
  read: () => number,
): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}

/** A gauge with labels, whose series (label sets and values) are read at each scrape. */
export function readLabelledGauge<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labels: readonly L[],
  read: () => Iterable<readonly [Record<L, string>, number]>,
): void {
  new Gauge({
    name,
    help,
    labelNames: labels,
    registers: [registry],
    collect() {
      this.reset();
      for (const [values, value] of read()) this.set(values, value);
    },
  });
}
