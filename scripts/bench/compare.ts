/**
 * `npm run bench:compare -- <commit> [<name> …] [--rounds N] [--flag value …]`: runs the selected
 * benchmarks (by default http-leads and router-reads, the ones a change on the request path reruns)
 * of <commit> and of this checkout in turns, before-after then after-before, for N rounds, and
 * prints each row's ratio on both sides with the paired change. One run of a benchmark can differ
 * from the next by several points on a shared machine; the pairs and their range show whether a
 * change holds. <commit> is checked out once into .strata/compare/<commit> with its own `npm ci`
 * and kept for the next comparison (`git worktree remove` drops it); each run's output is kept in
 * .strata/compare/logs/. Other flags go to every run.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createProgressReporter } from '../../src/progress/progress-reporter.js';
import { resultsDir, splitArguments } from './bench-kit.js';
import { compareRows, comparisonTable, meanChange, ratiosOf, type RowComparison, type RunRatios, type Side } from './compare-runs.js';

const usage = 'usage: npm run bench:compare -- <commit> [<benchmark> …] [--rounds N] [--flag value …]';
const { names: positionals, flags: flagPairs } = splitArguments(process.argv.slice(2));
const roundsAt = flagPairs.indexOf('--rounds');
const rounds = roundsAt === -1 ? 3 : Number(flagPairs[roundsAt + 1]);
const benchFlags = roundsAt === -1 ? flagPairs : flagPairs.filter((_, i) => i !== roundsAt && i !== roundsAt + 1);
const [ref, ...named] = positionals;
if (!ref || !Number.isInteger(rounds) || rounds < 1) {
  console.error(usage);
  process.exit(64);
}
const benches = named.length ? named : ['http-leads', 'router-reads'];

const git = (...gitArgs: string[]) => {
  const run = spawnSync('git', gitArgs, { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`git ${gitArgs.join(' ')}: ${run.stderr.trim()}`);
  return run.stdout.trim();
};
const commit = git('rev-parse', '--verify', `${ref}^{commit}`);
const here = `${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', '--untracked-files=no') ? ' with uncommitted changes' : ''}`;
const work = resolve('.strata/compare');
// One folder of run outputs per comparison, so an earlier comparison's stay readable.
const logs = join(work, 'logs', `${new Date().toISOString().replace(/[:.]/g, '-')}-${commit.slice(0, 12)}`);
await mkdir(logs, { recursive: true });
const checkouts: Record<Side, string> = { before: join(work, commit.slice(0, 12)), after: process.cwd() };

for (const name of benches) {
  if (!existsSync(join('scripts/bench', `${name}.ts`))) throw new Error(`unknown benchmark ${name}`);
}
const tty = Boolean(process.stderr.isTTY);
const progress = createProgressReporter({ tty, out: process.stdout, err: process.stderr });

/** Runs `command` in `cwd`, its output to `log`; resolves with its exit code. */
function run(command: string, commandArgs: string[], cwd: string, log: string): Promise<number> {
  return new Promise((done, fail) => {
    const out = createWriteStream(log);
    const child = spawn(command, commandArgs, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(out, { end: false });
    child.stderr.pipe(out, { end: false });
    child.once('error', fail);
    child.once('close', (code) => out.end(() => done(code ?? 1)));
  });
}

progress.start(rounds * benches.length * 2, `compare ${commit.slice(0, 12)} → ${here}`);
if (!existsSync(join(checkouts.before, 'node_modules/.package-lock.json'))) {
  progress.report(
    { event: 'checkout.started', commit, message: `checking out ${commit.slice(0, 12)} into ${checkouts.before} and installing its dependencies (npm ci)` },
    0,
  );
  if (!existsSync(checkouts.before)) git('worktree', 'add', '--detach', checkouts.before, commit);
  const log = join(logs, `npm-ci-${commit.slice(0, 12)}.log`);
  if ((await run('npm', ['ci', '--no-audit', '--no-fund'], checkouts.before, log)) !== 0) throw new Error(`npm ci in ${checkouts.before} failed: see ${log}`);
}
for (const name of benches) {
  if (!existsSync(join(checkouts.before, 'scripts/bench', `${name}.ts`))) throw new Error(`${commit.slice(0, 12)} has no benchmark ${name}`);
}

const results: Record<string, Partial<Record<Side, RunRatios>>[]> = Object.fromEntries(benches.map((b) => [b, []]));
const failures: string[] = [];
for (let round = 0; round < rounds; round++) {
  const order: Side[] = round % 2 ? ['after', 'before'] : ['before', 'after'];
  for (const name of benches) {
    const runs: Partial<Record<Side, RunRatios>> = {};
    for (const side of order) {
      const started = performance.now();
      const log = join(logs, `${name}-${side}-${round + 1}.log`);
      const resultFile = join(checkouts[side], resultsDir, `${name}.json`);
      await rm(resultFile, { force: true });
      const code = await run(process.execPath, ['--import=tsx', `scripts/bench/${name}.ts`, ...benchFlags], checkouts[side], log);
      const written = code === 0 ? await readFile(resultFile, 'utf8').catch(() => null) : null;
      if (written) runs[side] = ratiosOf((JSON.parse(written) as { rows: Record<string, unknown>[] }).rows);
      else failures.push(`${name} ${side} round ${round + 1}: see ${log}`);
      const seconds = Math.round((performance.now() - started) / 1000);
      progress.report({
        event: written ? 'run.finished' : 'run.failed',
        bench: name,
        side,
        round: round + 1,
        seconds,
        target: `${name} ${side}`,
        error: written ? undefined : log,
      });
    }
    results[name]!.push(runs);
  }
}

const rows: RowComparison[] = benches.flatMap((name) => compareRows(name, results[name]!));
const table = comparisonTable(rows);
const heading = `## ${benches.join(', ')}: ${commit.slice(0, 12)} (before) → ${here} (after), ${rounds} round(s) in turns`;
const notes = [
  "each value is the row's ratio to its own baseline in that run, in percent; a change is after − before within one round, the two runs back to back",
  ...failures.map((f) => `failed: ${f}`),
];
await mkdir(resultsDir, { recursive: true });
await writeFile(join(resultsDir, 'compare.md'), `${heading}\n\n${table}\n\n${notes.map((n) => `- ${n}`).join('\n')}\n`);
await writeFile(
  join(resultsDir, 'compare.json'),
  `${JSON.stringify({ at: new Date().toISOString(), before: commit, after: here, rounds, benches, rows: rows.map((r) => ({ ...r, meanChange: meanChange(r) })), failures }, null, 2)}\n`,
);
progress.finish({ event: 'compare.finished', rounds, failed: failures.length });
console.log(`\n${heading}\n\n${table}\n\n${notes.map((n) => `- ${n}`).join('\n')}`);
process.exit(failures.length ? 1 : 0);
