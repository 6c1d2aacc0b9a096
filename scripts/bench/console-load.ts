/**
 * `npm run bench -- console-load [--tenants 1000]`: the operator console's page weight (JS and CSS,
 * raw and gzip) and time to interactive in headless Chromium with that many tenants in the catalog:
 * the sign-in form usable after navigation, then the overview (servers and the fleet's load charts)
 * and the first page of the tenants table after signing in, each the median of 5 loads. Needs
 * chromium on PATH. Targets: at most 100 kB gzip in all, each step within a second.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { buildApp } from '../../src/app.js';
import { resolveSecret } from '../../src/config/config.js';
import { consoleAssetsDir } from '../../src/console/console-routes.js';
import { provisionTenant } from '../../src/tenants/provision-tenant.js';
import { percentile, round, withBenchPlatform, writeResults } from './bench-kit.js';

const { values } = parseArgs({ options: { tenants: { type: 'string', default: '1000' } } });
const tenants = Number(values.tenants);

const weight = readdirSync(consoleAssetsDir)
  .filter((name) => /\.(js|css)$/.test(name))
  .map((name) => {
    const body = readFileSync(new URL(name, consoleAssetsDir));
    return { file: name, bytes: body.length, gzip: gzipSync(body, { level: 9 }).length };
  });

if (!weight.some((w) => w.file.endsWith('.js'))) throw new Error('The console is not built: run `npm run build` first');

await withBenchPlatform('console_load', { STRATA_SPARE_SCHEMAS: '0' }, async (platform) => {
  for (let i = 0; i < tenants; i++) {
    await provisionTenant(platform.provisioning, { slug: `bench-${String(i).padStart(5, '0')}`, name: `Bench ${i}`, plan: 'free', tier: 'pooled' });
  }
  const app = await buildApp({ config: platform.config, platform });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const browser = await chromium.launch({
    executablePath: execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim(),
    args: ['--no-sandbox'],
  });
  const samples = { signInForm: [] as number[], overview: [] as number[], tenantsTable: [] as number[] };
  try {
    for (let run = 0; run < 5; run++) {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      let began = performance.now();
      await page.goto(`${base}/console`);
      await page.getByLabel('Password').waitFor();
      samples.signInForm.push(performance.now() - began);
      await page.getByLabel('Email').fill('admin@strata.local');
      await page.getByLabel('Password').fill(resolveSecret(platform.config.admin.passwordSecretRef));
      began = performance.now();
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Database servers' }).waitFor();
      await page.locator('.charts').waitFor();
      samples.overview.push(performance.now() - began);
      began = performance.now();
      await page.getByRole('link', { name: 'Tenants' }).click();
      await page.locator('table.tenants tbody tr').nth(49).waitFor();
      samples.tenantsTable.push(performance.now() - began);
      await page.close();
    }
  } finally {
    await browser.close();
    await app.close();
  }
  const median = (s: number[]) => round(percentile(s, 50));
  const kB = (n: number) => round(n / 1000, 1);
  const gzipTotal = weight.reduce((sum, w) => sum + w.gzip, 0);
  const within = (ms: number) => ({ value: `${ms} ms`, target: '≤ 1000 ms', met: ms <= 1000 ? 'yes' : 'no' });
  await writeResults('console-load', {
    title: `Operator console: page weight and time to interactive (${tenants} tenants)`,
    rows: [
      ...weight.map((w) => ({ measure: w.file, value: `${kB(w.bytes)} kB (gzip ${kB(w.gzip)} kB)`, target: '—', met: '' })),
      { measure: 'JS + CSS, gzip', value: `${kB(gzipTotal)} kB`, target: '≤ 100 kB', met: gzipTotal <= 100_000 ? 'yes' : 'no' },
      { measure: `sign-in form usable after navigation (median of 5, ${tenants} tenants)`, ...within(median(samples.signInForm)) },
      { measure: 'sign in → overview with load charts', ...within(median(samples.overview)) },
      { measure: 'Tenants → first 50 rows rendered', ...within(median(samples.tenantsTable)) },
    ],
    data: { tenants, weight, samples },
  });
});
