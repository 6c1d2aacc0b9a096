/**
 * Runs tap test files the way tap's runner does (one node process per file, a few at a time, each
 * file's TAP printed as a subtest of the run) without what the runner adds to every file's process:
 * @tapjs/processinfo's hooks (it re-reads and splits every module loaded) and source-map remapping.
 * Those cost a quarter of the suite's CPU with coverage off: 868–1,124 s under tap's runner, 662 s here.
 */
import { spawn } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

export interface Counts {
  total: number;
  pass: number;
  fail: number;
  skip: number;
  todo: number;
}

export interface FileResult {
  file: string;
  ok: boolean;
  counts: Counts;
  ms: number;
  /** Each skip's reason (a missing optional tool, and how to run those tests). */
  skips: string[];
  /** Each failed assertion: its subtests' names and its diagnostic, to repeat at the end of the run. */
  failures: string[];
}

/** The `.test.ts` files named, or found under the directories named, in path order. */
export async function testFiles(paths: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const path of paths) {
    if ((await stat(path)).isFile()) found.push(path);
    else
      for (const entry of await readdir(path, { recursive: true, withFileTypes: true })) {
        if (entry.isFile() && entry.name.endsWith('.test.ts')) found.push(join(entry.parentPath, entry.name));
      }
  }
  return [...new Set(found)].sort();
}

interface RunOptions {
  jobs: number;
  timeoutSeconds: number;
  env: NodeJS.ProcessEnv;
  /** Node's arguments that run a file (compiled-checkout.ts). */
  nodeArguments: (file: string) => string[];
}

/** Runs the files `jobs` at a time; prints each one's TAP when it ends, numbered in order of ending. */
export async function runTestFiles(files: string[], options: RunOptions): Promise<FileResult[]> {
  const results: FileResult[] = [];
  const queue = [...files];
  const worker = async () => {
    for (let file = queue.shift(); file; file = queue.shift()) {
      const result = await runTestFile(file, options);
      results.push(result);
      console.log(`${result.ok ? 'ok' : 'not ok'} ${results.length} - ${file} # time=${result.ms.toFixed(3)}ms`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.jobs, files.length) }, worker));
  return results;
}

/** The root test's closing counts, e.g. `# { total: 42, pass: 40, fail: 1, skip: 1 }`. */
const closingCounts = /^# \{ (total: .*) \}$/m;

async function runTestFile(file: string, options: RunOptions): Promise<FileResult> {
  const started = performance.now();
  const child = spawn(process.execPath, options.nodeArguments(file), {
    // tap ends a file that overruns TAP_TIMEOUT, or the longer timeout the file sets for itself.
    env: { ...options.env, TAP_TIMEOUT: String(options.timeoutSeconds) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // Killed: a process still alive 30 s after its closing counts (an open handle), or after an hour
  // (an event loop that never yields, so tap's own timer cannot fire).
  const kill = () => child.kill('SIGKILL');
  let killer = setTimeout(kill, 3_600_000);
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
    if (closingCounts.test(output.slice(-chunk.length - 100))) {
      clearTimeout(killer);
      killer = setTimeout(kill, 30_000);
    }
  });
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (...end) => resolve(end)));
  clearTimeout(killer);

  const lines = output.split('\n');
  if (lines.at(-1) === '') lines.pop();
  console.log(`# Subtest: ${file}`);
  for (const line of lines) console.log(line && `    ${line}`);
  const closing = lines.map((line) => closingCounts.exec(line)?.[1]).findLast(Boolean);
  const counts: Counts = { total: 0, pass: 0, fail: 0, skip: 0, todo: 0 };
  for (const pair of closing?.split(', ') ?? []) {
    const [key, value] = pair.split(': ');
    if (key! in counts) counts[key as keyof Counts] = Number(value);
  }
  const skips = lines.map((line) => /# SKIP (.+)$/.exec(line)?.[1]).filter((reason): reason is string => !!reason);
  // A file that crashed, hung or ended without its counts fails, whatever it printed before.
  const ok = code === 0 && closing !== undefined && counts.fail === 0;
  if (!ok && counts.fail === 0) counts.fail = 1;
  const failures = failedAssertions(lines);
  if (!ok) {
    const end = `exit ${code ?? signal}${closing ? '' : ', no closing counts'}`;
    console.log(`    # ${end}`);
    if (failures.length === 0) failures.push(end);
  }
  return { file, ok, counts, ms: performance.now() - started, skips, failures };
}

const diagnosticLines = 20;

/**
 * The failed assertions in a file's TAP, each as `outer > inner > assertion` and its YAML diagnostic
 * without the `at` and `source` blocks (the stack names the line). A subtest's own `not ok` (it
 * failed because a child did) is left out.
 */
export function failedAssertions(lines: string[]): string[] {
  const subtests: string[] = [];
  const failures: string[] = [];
  for (const [index, line] of lines.entries()) {
    const level = /^ */.exec(line)![0].length / 4;
    const header = /^ *# Subtest: (.*)$/.exec(line);
    if (header) {
      subtests.length = level;
      subtests[level] = header[1]!;
      continue;
    }
    const failed = /^ *not ok \d+ - (.*?)(?: # time=\S+)?$/.exec(line);
    if (!failed || / # TODO/.test(line) || subtests[level] === failed[1]) continue;
    failures.push([[...subtests.slice(0, level), failed[1]].join(' > '), ...diagnostic(lines, index + 1)].join('\n'));
  }
  return failures;
}

function diagnostic(lines: string[], start: number): string[] {
  if (lines[start]?.trim() !== '---') return [];
  const indent = lines[start]!.indexOf('-');
  const kept: string[] = [];
  let skipping = false;
  for (const line of lines.slice(start + 1)) {
    const text = line.slice(indent);
    if (text === '...' || kept.length === diagnosticLines) break;
    if (!text.startsWith(' ')) skipping = /^(at|source):/.test(text);
    if (!skipping) kept.push(`  ${text}`);
  }
  return kept;
}
