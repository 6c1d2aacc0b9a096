/**
 * Evens out a measure across the active database servers by online moves (src/rebalance/):
 *   npm run rebalance -- plan  [--by tenants|storage|dbTime] [--window 1h] [--max-moves 20] [--tolerance 0.1] [--json]
 *   npm run rebalance -- apply [same] [--concurrency 2]
 * `plan` is a dry run: the moves and each server's value against its share (by weight), before and
 * after. `apply` plans the same way and runs the moves, a bounded number at once, with a progress
 * bar on a terminal (JSON lines otherwise); each move is an audited, resumable job, and the run is
 * audited as `server.rebalance`. dbTime is each tenant's database time over the last `--window`, as
 * the usage accounting recorded it (src/usage/tenant-load.ts); the admin API does the same through
 * POST /admin/rebalance.
 */
import { parseArgs } from 'node:util';
import { createProgressReporter } from '../src/progress/progress-reporter.js';
import { applyRebalance } from '../src/rebalance/apply-rebalance.js';
import { defaultWindowMs, MeasureUnavailableError, type Measure, measures, planRebalance, type RebalancePlan } from '../src/rebalance/rebalance-plan.js';
import { duration } from '../src/usage/duration.js';
import { UsageError, withPlatform } from './cli.js';

const usage = 'usage: npm run rebalance -- plan|apply [--by tenants|storage|dbTime] [--window 1h] [--max-moves N] [--tolerance 0.1] [--concurrency 2] [--json]';
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    by: { type: 'string', default: 'tenants' },
    window: { type: 'string' },
    'max-moves': { type: 'string', default: '20' },
    tolerance: { type: 'string', default: '0.1' },
    concurrency: { type: 'string', default: '2' },
    json: { type: 'boolean', default: false },
  },
});
const [command] = positionals;
const maxMoves = Number(values['max-moves']);
const tolerance = Number(values.tolerance);
const concurrency = Number(values.concurrency);
const window = values.window === undefined ? { success: true as const, data: defaultWindowMs } : duration.safeParse(values.window);
const problems = [
  !['plan', 'apply'].includes(command ?? '') && 'plan or apply',
  !measures.includes(values.by as Measure) && `--by: one of ${measures.join(', ')}`,
  !(Number.isInteger(maxMoves) && maxMoves >= 0 && maxMoves <= 10_000) && '--max-moves: 0 to 10000',
  !(tolerance >= 0 && tolerance < 10) && '--tolerance: a fraction, e.g. 0.1',
  !(Number.isInteger(concurrency) && concurrency >= 1 && concurrency <= 16) && '--concurrency: 1 to 16',
  !window.success && '--window: a duration like 30m, 1h or 24h',
].filter(Boolean);

function print(plan: RebalancePlan) {
  if (values.json) {
    console.log(JSON.stringify(plan, null, 2));
    return;
  }
  const pct = (n: number) => `${(n * 100).toFixed(1)}%`;
  console.log(`by ${plan.by}: ${plan.moves.length} move(s), spread ${pct(plan.spreadBefore)} → ${pct(plan.spreadAfter)} (stopped: ${plan.stopped})`);
  const amount = (n: number) => (plan.by === 'dbTime' ? `${Math.round(n)} ms` : String(n));
  for (const m of plan.moves) console.log(`  move ${m.slug.padEnd(40)} ${m.tier.padEnd(9)} ${m.from} → ${m.to}  (${amount(m.size)})`);
  for (const [i, before] of plan.before.entries()) {
    console.log(
      `  ${before.server.padEnd(20)} weight ${before.weight}  ${amount(before.value)} → ${amount(plan.after[i]!.value)}  (share ${amount(before.target)})`,
    );
  }
}

await withPlatform(async (platform) => {
  if (problems.length) throw new UsageError(`${usage}\n${problems.map((p) => `  ${p}`).join('\n')}`);
  const windowMs = window.data!;
  const plan = await planRebalance(platform, { by: values.by as Measure, maxMoves, tolerance, windowMs }).catch((err: unknown) => {
    throw err instanceof MeasureUnavailableError ? new UsageError(err.message) : err;
  });
  if (command === 'plan' || !plan.moves.length) {
    print(plan);
    return 0;
  }
  const progress = createProgressReporter({ tty: !values.json && process.stderr.isTTY, out: process.stdout, err: process.stderr });
  progress.start(plan.moves.length, `rebalance by ${plan.by}`);
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort(new Error('interrupted: the moves under way are resumed by any API instance')));
  const outcome = await applyRebalance(platform, plan, {
    concurrency,
    actor: null,
    windowMs,
    signal: abort.signal,
    onEvent: (event) => progress.report(event, event.event === 'move.done' || event.event === 'move.failed'),
  });
  progress.finish({
    event: 'rebalance.finished',
    moved: outcome.moved,
    failed: outcome.failed,
    spreadBefore: plan.spreadBefore,
    plannedSpread: plan.spreadAfter,
  });
  return outcome.failed.length ? 1 : 0;
});
