/**
 * `npx tsx scripts/bench/console-load.ts [--tenants 1000]`: the operator console's page weight
 * (JS and CSS, raw and gzip) and time to interactive in headless Chromium with that many tenants
 * in the catalog: the sign-in form usable after navigation, then the overview and the first page of
 * the tenants table after signing in, each the median of 5 loads. Needs chromium on PATH.
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

await withBenchPlatform('console_load', { STRATA_SPARE_SCHEMAS: '0' }, async (platform) => {
  for (let i = 0; i < tenants; i++) {
    await provisionTenant(platform.provisioning, { slug: `bench-${String(i).padStart(5, '0')}`, name: `Bench ${i}`, plan: 'free', tier: 'pooled' });
  }
  const app = await buildApp({ config: platform.config, platform });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const browser = await chromium.launch({ executablePath: execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim(), args: ['--no-sandbox'] });
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
  await writeResults('console_load', {
    title: `Operator console: page weight and time to interactive (${tenants} tenants)`,
    rows: [
      ...weight.map((w) => ({ what: w.file, value: `${w.bytes} B (gzip ${w.gzip} B)` })),
      { what: 'sign-in form usable after navigation (median of 5)', value: `${median(samples.signInForm)} ms` },
      { what: 'sign in → overview rendered', value: `${median(samples.overview)} ms` },
      { what: 'Tenants → first 50 rows rendered', value: `${median(samples.tenantsTable)} ms` },
    ],
    data: { tenants, weight, samples },
  });
});
