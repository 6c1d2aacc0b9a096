/**
 * `npm run attack [-- --quick] [--per-category N] [--url http://host:port --admin-email e --admin-password p] [--out file] [--json]`
 *
 * Attacks a running Strata from outside, as a hostile customer, a hostile admin request and an
 * anonymous caller would, along the OWASP API Security Top 10 (2023). Without --url it starts its
 * own server first (target-server.ts) and removes it afterwards. Prints a progress line per category
 * on a terminal, JSON lines otherwise (--json forces them), then the summary table; writes every
 * attack to --out (default bench-results/attack-run.json). Exits 1 when an attack found something.
 * --per-category N runs only the first N attacks of each category.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { summaryTable } from './attack-log.js';
import { runAttacks, type RunSettings } from './run-attacks.js';
import { startTargetServer } from './target-server.js';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    'admin-email': { type: 'string', default: 'admin@strata.local' },
    'admin-password': { type: 'string' },
    quick: { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench-results/attack-run.json' },
    json: { type: 'boolean', default: false },
    'per-category': { type: 'string' },
  },
});

async function main(): Promise<number> {
  const tty = process.stdout.isTTY && !values.json;
  const write = (line: string) => process.stdout.write(`${line}\n`);
  const server = values.url ? undefined : await startTargetServer();
  try {
    const url = values.url ?? server!.url;
    const password = values['admin-password'] ?? server?.admin.password ?? process.env.STRATA_ADMIN_PASSWORD;
    if (!password) {
      console.error('--admin-password (or STRATA_ADMIN_PASSWORD) is required with --url');
      return 64;
    }
    const admin = { email: server?.admin.email ?? values['admin-email']!, password };
    const perCategory = values['per-category'] === undefined ? undefined : Number(values['per-category']);
    if (perCategory !== undefined && !(Number.isInteger(perCategory) && perCategory > 0)) {
      console.error('--per-category takes a whole number above 0');
      return 64;
    }
    const settings: RunSettings = {
      quick: values.quick!,
      admin,
      jwtSecret: server?.jwtSecret,
      importMaxBytes: server?.importMaxBytes,
      provisionEmpty: server?.provisionEmpty,
      perCategory,
    };
    if (tty) write(`Attacking ${url}${server ? ' (a server of its own)' : ''}${values.quick ? ', quick' : ''}`);
    const result = await runAttacks(url, settings, { tty, write });
    await mkdir(dirname(values.out!), { recursive: true });
    await writeFile(values.out!, `${JSON.stringify(result, null, 2)}\n`);
    const summary = `${summaryTable(result.counts)}\n\n${result.findings.length} finding(s) in ${(result.ms / 1000).toFixed(0)} s; every attack in ${values.out}`;
    if (tty) write(`\n${summary}`);
    else process.stderr.write(`${summary}\n`);
    return result.findings.length ? 1 : 0;
  } finally {
    await server?.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(2);
  },
);
