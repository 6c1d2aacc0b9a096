/**
 * Exports a tenant as a Strata tenant archive (src/transfer/archive-format.ts):
 * `npm run export -- --tenant acme --out acme.strata` (`--out -` writes to stdout).
 * The file appears only once the export is complete: it is written as `<out>.partial` first.
 */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { recordAdminAction } from '../src/admin/admin-audit.js';
import { exportTenant, totalRows } from '../src/transfer/export-tenant.js';
import { UsageError, withPlatform } from './cli.js';
import { tenantBySlug, transferProgress } from './transfer-cli.js';

const usage = 'usage: npm run export -- --tenant <slug> --out <file>|-';
const { values } = parseArgs({ options: { tenant: { type: 'string' }, out: { type: 'string' } } });

await withPlatform(async (platform) => {
  const tenant = await tenantBySlug(platform, values.tenant, usage);
  const toStdout = values.out === '-';
  const path = values.out && !toStdout ? values.out : undefined;
  if (!path && !toStdout) throw new UsageError(usage);
  const { reporter, onProgress } = transferProgress(toStdout ? process.stderr : process.stdout);
  const out = path ? createWriteStream(`${path}.partial`) : process.stdout;
  const started = performance.now();
  try {
    const manifest = await exportTenant(platform, tenant, out, { onProgress });
    if (path) {
      out.end();
      await finished(out);
      await rename(`${path}.partial`, path);
    }
    const rows = totalRows(manifest);
    await recordAdminAction(platform.catalog, { adminId: null, action: 'tenant.export', tenantId: tenant.id, details: { rows, file: path ?? 'stdout' } });
    const seconds = (performance.now() - started) / 1000;
    reporter.finish({ event: 'export.finished', tenant: tenant.slug, rows, tables: manifest.tables.length, file: path ?? 'stdout', seconds: Math.round(seconds * 100) / 100, rowsPerSecond: Math.round(rows / seconds) });
  } catch (err) {
    if (path) {
      out.destroy();
      await rm(`${path}.partial`, { force: true });
    }
    throw err;
  }
});
