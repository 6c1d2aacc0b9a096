/**
 * The request path's counters and histograms (tallies.ts) are served exactly as prom-client's own
 * Counter and Histogram serve the same observations: same lines, same order, same values.
 */
import { Counter, Histogram, Registry } from 'prom-client';
import t from 'tap';
import { TallyCounter, TallyHistogram } from '../../src/metrics/tallies.js';

const buckets = [0.001, 0.01, 0.1, 1];
const observations: [string[], number][] = [
  [['/leads', 'pooled'], 0.0004],
  [['/leads', 'pooled'], 0.001],
  [['/leads', 'pooled'], 0.05],
  [['/leads/:id', 'schema'], 3],
  [['/a "quoted"\\path\n', 'none'], 0.02],
  [['/leads', 'pooled'], 0.5],
];

t.test('a histogram: the same exposition as prom-client’s for the same observations', async (t) => {
  const [ours, theirs] = [new Registry(), new Registry()];
  const options = { name: 'x_duration_seconds', help: 'Time, by route and tier', labelNames: ['route', 'tier'] };
  const tally = new TallyHistogram({ ...options, buckets, registry: ours });
  const reference = new Histogram({ ...options, buckets, registers: [theirs] });
  const fixed = tally.series('/fixed', 'dedicated');
  t.equal(await ours.metrics(), await theirs.metrics(), 'equal before any observation');
  for (const [labels, value] of observations) {
    tally.observe(labels, value);
    reference.observe({ route: labels[0]!, tier: labels[1]! }, value);
  }
  fixed.observe(0.002);
  reference.observe({ route: '/fixed', tier: 'dedicated' }, 0.002);
  t.equal(await ours.metrics(), await theirs.metrics());
  t.match(await ours.metrics(), /^x_duration_seconds_bucket\{le="0.01",route="\/leads",tier="pooled"\} 2$/m, 'cumulative buckets');
  ours.resetMetrics();
  theirs.resetMetrics();
  t.equal(await ours.metrics(), await theirs.metrics(), 'equal after a reset');
});

t.test('a counter, with and without labels: the same exposition as prom-client’s', async (t) => {
  const [ours, theirs] = [new Registry(), new Registry()];
  const labelled = { name: 'x_requests_total', help: 'Requests', labelNames: ['route', 'tier'] };
  const tally = new TallyCounter({ ...labelled, registry: ours });
  const reference = new Counter({ ...labelled, registers: [theirs] });
  const plain = { name: 'x_runs_total', help: 'Runs' };
  const runs = new TallyCounter({ ...plain, registry: ours }).series();
  const referenceRuns = new Counter({ ...plain, registers: [theirs] });
  t.equal(await ours.metrics(), await theirs.metrics(), 'a counter without labels is 0 before its first count');
  for (const [labels] of observations) {
    tally.inc(labels);
    reference.inc({ route: labels[0]!, tier: labels[1]! });
  }
  tally.inc(['/leads', 'pooled'], 5);
  reference.inc({ route: '/leads', tier: 'pooled' }, 5);
  runs.inc();
  runs.inc(2);
  referenceRuns.inc(3);
  t.equal(await ours.metrics(), await theirs.metrics());
});

t.test('a name already registered is refused, as prom-client refuses it', async (t) => {
  const registry = new Registry();
  new TallyCounter({ name: 'x_total', help: 'x', registry });
  t.throws(() => new Counter({ name: 'x_total', help: 'x', registers: [registry] }), /already been registered/);
  t.throws(() => new TallyCounter({ name: 'x_total', help: 'x', registry }), /already been registered/);
});
