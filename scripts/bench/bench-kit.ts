/**
 * Shared plumbing of the benchmarks: a throwaway Strata installation per benchmark (its own
 * databases, dropped afterwards), timing helpers, and results written to bench-results/.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/config.js';
import { prepareEnvironment } from '../../src/config/installation-secrets.js';
import { dropInstallation } from '../../src/platform/drop-installation.js';
import { startEmbeddedPostgres } from '../../src/platform/embedded-postgres.js';
import { startPlatform, type Platform } from '../../src/platform/platform.js';

export const resultsDir = 'bench-results';

/**
 * Runs `fn` on a fresh installation named `bench_<name>` and removes it afterwards.
 * STRATA_BENCH_PREFIX replaces `bench`, so checkouts sharing one server can bench at the same time.
 */
export async function withBenchPlatform<T>(name: string, overrides: Record<string, string>, fn: (platform: Platform) => Promise<T>): Promise<T> {
  prepareEnvironment();
  const log = pino({ level: 'warn' });
  const base = loadConfig(process.env);
  // One embedded server for the whole bench run: started here if none is configured or running.
  const embedded = base.database.url ? undefined : await startEmbeddedPostgres({ ...base.database.embedded, log });
  const adminUrl = base.database.url ?? embedded!.url;
  const prefix = `${process.env.STRATA_BENCH_PREFIX ?? 'bench'}_${name}`;
  await dropInstallation(adminUrl, prefix);
  const platform = await startPlatform(loadConfig({ ...process.env, DATABASE_URL: adminUrl, STRATA_DB_PREFIX: prefix, ...overrides }), log);
  try {
    return await fn(platform);
  } finally {
    await platform.close();
    await dropInstallation(adminUrl, prefix);
    await embedded?.stop();
  }
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await fn();
  return { ms: performance.now() - started, value };
}

export function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** A command line's names (words not following a flag) and its flags with their values, in order. */
export function splitArguments(args: string[]): { names: string[]; flags: string[] } {
  const isName = (a: string, i: number) => !a.startsWith('-') && !args[i - 1]?.startsWith('-');
  return { names: args.filter(isName), flags: args.filter((a, i) => !isName(a, i)) };
}

export const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

/** Writes `bench-results/<name>.json` and `<name>.md`, and prints the markdown table. */
export async function writeResults(name: string, results: { title: string; rows: Record<string, string | number>[]; notes?: string[]; data: unknown }) {
  await mkdir(resultsDir, { recursive: true });
  const columns = Object.keys(results.rows[0] ?? {});
  const markdown = [
    `## ${results.title}`,
    '',
    `| ${columns.join(' | ')} |`,
    `| ${columns.map(() => '---').join(' | ')} |`,
    ...results.rows.map((row) => `| ${columns.map((c) => String(row[c])).join(' | ')} |`),
    '',
    ...(results.notes ?? []).map((n) => `- ${n}`),
    '',
  ].join('\n');
  await writeFile(join(resultsDir, `${name}.json`), `${JSON.stringify({ name, at: new Date().toISOString(), ...results }, null, 2)}\n`);
  await writeFile(join(resultsDir, `${name}.md`), markdown);
  console.log(markdown);
}
