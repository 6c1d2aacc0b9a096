/**
 * `npm test`'s runner (scripts/run-test-files.ts) must let no failure through: a failed assertion,
 * a crash after the last test, a process that ends (even with code 0) before its closing counts.
 * Runs it on fixture files.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';

function startTests(files: string[], env: NodeJS.ProcessEnv = {}) {
  // The package's test script without its build (other files read dist/ meanwhile).
  return spawn(process.execPath, ['--import=tsx', 'scripts/test.ts', ...files.map((f) => `test/fixtures/runner/${f}.ts`)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true,
  });
}

function runTests(files: string[]): Promise<{ code: number | null; stdout: string }> {
  const child = startTests(files);
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout })));
}

const compiledCopies = () => new Set(existsSync('.strata') ? readdirSync('.strata').filter((name) => name.startsWith('test-build-')) : []);

t.test('passing files pass: the last line counts their assertions and the skip says why', async (t) => {
  const run = await runTests(['passes']);
  t.equal(run.code, 0);
  const lines = run.stdout.trim().split('\n');
  t.equal(lines.at(-1), '3 passed, 0 failed');
  t.equal(lines.at(-2), 'skipped: fixture-tool is not installed here');
  t.match(run.stdout, /^ok 1 - test\/fixtures\/runner\/passes\.ts # time=/m);
});

for (const fixture of ['fails', 'crashes', 'exits']) {
  t.test(`a file that ${fixture} fails the run, whatever the others do`, async (t) => {
    const run = await runTests(['passes', fixture]);
    t.equal(run.code, 1);
    t.match(run.stdout, new RegExp(`^not ok \\d - test/fixtures/runner/${fixture}\\.ts`, 'm'));
    t.match(run.stdout.trim().split('\n').at(-1), /^\d+ passed, [1-9]\d* failed$/);
    t.match(run.stdout, new RegExp(`^failed: test/fixtures/runner/${fixture}\\.ts$`, 'm'), 'named again at the end');
    t.notMatch(run.stdout, /^failed: test\/fixtures\/runner\/passes\.ts$/m);
  });
}

t.test('the end of the run repeats each failed assertion with its subtests and its diff', async (t) => {
  const run = await runTests(['fails']);
  const end = run.stdout.slice(run.stdout.lastIndexOf('\nfailed: '));
  t.match(end, /^\nfailed: test\/fixtures\/runner\/fails\.ts\n {2}fails > fails\n/);
  t.match(end, /^ {6}-3\n {6}\+2$/m, 'the diff');
  t.notMatch(end, /fails > fails\n[^]*fails > fails|^ {2}fails$/m, 'the subtest itself is not repeated');
  t.notMatch(end, /source:/, 'without the source excerpt');
  t.match(end, /^ {6}.*\(test\/fixtures\/runner\/fails\.ts:\d+:\d+\)$/m, "the stack names the file's TypeScript line");
});

t.test('files run compiled to JavaScript, reaching the checkout by module-relative paths; the copy is removed after the run', async (t) => {
  const run = await runTests(['compiled']);
  t.equal(run.code, 0);
  t.equal(run.stdout.trim().split('\n').at(-1), '2 passed, 0 failed');
  const mirror = /# mirror: (.+)$/m.exec(run.stdout)?.[1];
  t.ok(mirror, 'the file ran from a compiled copy');
  t.notOk(existsSync(mirror!), 'the copy is gone');
});

t.test('an interrupted run removes its compiled copy too', async (t) => {
  const before = compiledCopies();
  const child = startTests(['compiled'], { STRATA_FIXTURE_WAIT: '1' });
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  let ours: string | undefined;
  for (let waited = 0; !ours && waited < 30_000; waited += 100) {
    ours = [...compiledCopies()].find((name) => !before.has(name));
    if (!ours) await sleep(100);
  }
  t.ok(ours, 'the run made its compiled copy');
  // Once the copy is complete and its file runs (the copy appears as compiling begins), Ctrl-C as
  // in a terminal: SIGINT to the runner and the file it runs.
  await sleep(1000);
  process.kill(-child.pid!, 'SIGINT');
  t.equal(await closed, 130);
  t.notOk(existsSync(`.strata/${ours}`), 'the copy is gone');
});
