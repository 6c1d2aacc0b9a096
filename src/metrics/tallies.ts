/**
 * Counters and histograms recorded on every request and statement, registered with prom-client as
 * custom metrics (`registerMetric` with `get()`). Recording is a Map lookup and a few additions:
 * prom-client's own validate and hash their labels on each call (~4% of a request's CPU).
 */
import type { Registry } from 'prom-client';

/** Read at scrape time (prom-client's typings make `type` a numeric enum; it reads strings). */
interface Sample {
  metricName?: string;
  labels: Record<string, string | number>;
  /** Printed after `labels`, as prom-client prints a histogram's `le` first. */
  sharedLabels?: Record<string, string>;
  value: number;
}
interface Snapshot {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  aggregator: 'sum';
  values: Sample[];
}

interface TallyOptions {
  name: string;
  help: string;
  labelNames?: readonly string[];
  registry: Registry;
}

abstract class Tally<Series> {
  readonly name: string;
  readonly help: string;
  abstract readonly type: Snapshot['type'];
  readonly aggregator = 'sum' as const;
  readonly #labelNames: readonly string[];
  /** In the order first used (prom-client's); #index finds them, a Map per label. */
  #series: { labels: Record<string, string>; series: Series }[] = [];
  #index = new Map<string, unknown>();

  constructor({ name, help, labelNames = [], registry }: TallyOptions) {
    this.name = name;
    this.help = help;
    this.#labelNames = labelNames;
    registry.registerMetric(this as never);
  }

  protected abstract fresh(): Series;

  /** Not by a joined key: label values are mostly the same strings each time, whose hashes V8 keeps. */
  protected seriesOf(values: readonly string[]): Series {
    let level = this.#index;
    for (let i = 0; i < values.length - 1; i++) {
      let next = level.get(values[i]!) as Map<string, unknown> | undefined;
      if (!next) level.set(values[i]!, (next = new Map()));
      level = next;
    }
    const last = values.at(-1) ?? '';
    let series = level.get(last) as Series | undefined;
    if (!series) {
      level.set(last, (series = this.fresh()));
      this.#series.push({ labels: Object.fromEntries(this.#labelNames.map((name, i) => [name, values[i]!])), series });
    }
    return series;
  }

  /** For recording without a lookup; made on first use, as prom-client's children, and after a reset. */
  protected fixedSeries(values: readonly string[]): () => Series {
    let series: Series | undefined;
    let of: unknown;
    return () => {
      if (of !== this.#series) [series, of] = [this.seriesOf(values), this.#series];
      return series!;
    };
  }

  protected entries() {
    return this.#series;
  }

  reset(): void {
    this.#series = [];
    this.#index = new Map();
  }
}

export class TallyCounter extends Tally<{ value: number }> {
  readonly type = 'counter' as const;

  constructor(options: TallyOptions) {
    super(options);
    // Like prom-client: a counter without labels is served as 0 before its first count.
    if (!options.labelNames?.length) this.seriesOf([]);
  }

  protected fresh() {
    return { value: 0 };
  }

  inc(values: readonly string[] = [], by = 1): void {
    this.seriesOf(values).value += by;
  }

  series(...values: string[]): { inc(by?: number): void } {
    const series = this.fixedSeries(values);
    return { inc: (by = 1) => void (series().value += by) };
  }

  get(): Snapshot {
    const values = this.entries().map(({ labels, series }) => ({ labels, value: series.value }));
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

interface Distribution {
  /** Observations per bucket (not cumulative); the last is above every bound. */
  counts: Float64Array;
  sum: number;
  count: number;
}

export class TallyHistogram extends Tally<Distribution> {
  readonly type = 'histogram' as const;
  readonly #bounds: readonly number[];

  constructor(options: TallyOptions & { buckets: readonly number[] }) {
    super(options);
    this.#bounds = [...options.buckets].sort((a, b) => a - b);
  }

  protected fresh(): Distribution {
    return { counts: new Float64Array(this.#bounds.length + 1), sum: 0, count: 0 };
  }

  observe(values: readonly string[], value: number): void {
    this.#add(this.seriesOf(values), value);
  }

  series(...values: string[]): { observe(value: number): void } {
    const series = this.fixedSeries(values);
    return { observe: (value) => this.#add(series(), value) };
  }

  #add(series: Distribution, value: number) {
    let bucket = 0;
    while (bucket < this.#bounds.length && value > this.#bounds[bucket]!) bucket++;
    series.counts[bucket]!++;
    series.sum += value;
    series.count++;
  }

  get(): Snapshot {
    const values: Sample[] = [];
    for (const { labels, series } of this.entries()) {
      let cumulative = 0;
      this.#bounds.forEach((le, i) => {
        cumulative += series.counts[i]!;
        values.push({ metricName: `${this.name}_bucket`, labels: { le }, sharedLabels: labels, value: cumulative });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf' }, sharedLabels: labels, value: series.count });
      values.push({ metricName: `${this.name}_sum`, labels: {}, sharedLabels: labels, value: series.sum });
      values.push({ metricName: `${this.name}_count`, labels: {}, sharedLabels: labels, value: series.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}
