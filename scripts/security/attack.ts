/**
 * `npm run attack [-- --quick] [--url http://host:port --admin-email e --admin-password p] [--out file] [--json]`
 *
 * Attacks a running Strata from outside, as a hostile customer, a hostile admin request and an
 * anonymous caller would, along the OWASP API Security Top 10 (2023). Without --url it starts its
 * own server first (target-server.ts) and removes it afterwards. Prints a progress line per category
 * on a terminal, JSON lines otherwise (--json forces them), then the summary table; writes every
 * attack to --out (default bench-results/attack-run.json). Exits 1 when an attack found something.
 */
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import type { Tier } from '../../src/tenants/placement.js';
import { summaryTable } from './attack-log.js';
import { runAttacks, type RunSettings } from './run-attacks.js';
import { startTargetServer, type TargetServer } from './target-server.js';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    'admin-email': { type: 'string', default: 'admin@strata.local' },
    'admin-password': { type: 'string' },
    quick: { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench-results/attack-run.json' },
    json: { type: 'boolean', default: false },
  },
});

/** `npm run provision` against the run's own server: a tenant without any data. */
function provisioner(server: TargetServer, admin: () => Promise<string>) {
  return async (slug: string, tier: Tier) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/provision-tenant.ts', '--slug', slug, '--plan', 'business', '--tier', tier, '--actor', 'attack-run'], {
      env: { PATH: process.env.PATH ?? '', ...server.env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    if (code !== 0) throw new Error(`npm run provision ${slug} exited ${code}: ${stderr}`);
    const res = await fetch(`${server.url}/admin/tenants?search=${slug}`, { headers: { authorization: `Bearer ${await admin()}` } });
    return ((await res.json()) as { items: { id: string }[] }).items[0]!.id;
  };
}

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
    const adminToken = async () =>
      ((await (await fetch(`${url}/admin/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(admin) })).json()) as { accessToken: string }).accessToken;
    const settings: RunSettings = {
      quick: values.quick!,
      admin,
      jwtSecret: server?.jwtSecret,
      importMaxBytes: server?.importMaxBytes,
      provisionEmpty: server && provisioner(server, adminToken),
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
