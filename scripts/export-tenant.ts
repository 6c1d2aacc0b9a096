/**
 * Exports a tenant as a Strata tenant archive (src/transfer/archive-format.ts):
 * `npm run export -- --tenant acme --out acme.strata [--gzip]` (`--out -` writes to stdout).
 * The file appears only once the export is complete: it is written as `<out>.partial` first.
 */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { finished, pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { createGzip } from 'node:zlib';
import { recordAdminAction } from '../src/admin/admin-audit.js';
import { exportTenant, totalRows } from '../src/transfer/export-tenant.js';
import { UsageError, withPlatform } from './cli.js';
import { tenantBySlug, transferProgress } from './transfer-cli.js';

const usage = 'usage: npm run export -- --tenant <slug> --out <file>|- [--gzip]';
const { values } = parseArgs({ options: { tenant: { type: 'string' }, out: { type: 'string' }, gzip: { type: 'boolean', default: false } } });

await withPlatform(async (platform) => {
  const tenant = await tenantBySlug(platform, values.tenant, usage);
  const toStdout = values.out === '-';
  const path = values.out && !toStdout ? values.out : undefined;
  if (!path && !toStdout) throw new UsageError(usage);
  const { reporter, onProgress } = transferProgress(toStdout ? process.stderr : process.stdout);
  // Owner-only, like purge archives: an archive holds password hashes.
  const sink = path ? createWriteStream(`${path}.partial`, { mode: 0o600 }) : process.stdout;
  const gzip = values.gzip ? createGzip() : undefined;
  const flushed = gzip ? pipeline(gzip, sink) : undefined;
  flushed?.catch(() => undefined); // awaited below; a failure also fails the export's writes
  const out = gzip ?? sink;
  const started = performance.now();
  try {
    const manifest = await exportTenant(platform, tenant, out, { onProgress });
    if (gzip) {
      gzip.end();
      await flushed;
    } else if (path) {
      sink.end();
      await finished(sink);
    }
    if (path) await rename(`${path}.partial`, path);
    const rows = totalRows(manifest);
    await recordAdminAction(platform.catalog, { adminId: null, action: 'tenant.export', tenantId: tenant.id, details: { rows, file: path ?? 'stdout' } });
    const seconds = (performance.now() - started) / 1000;
    reporter.finish({
      event: 'export.finished',
      tenant: tenant.slug,
      rows,
      tables: manifest.tables.length,
      file: path ?? 'stdout',
      seconds: Math.round(seconds * 100) / 100,
      rowsPerSecond: Math.round(rows / seconds),
    });
  } catch (err) {
    if (path) {
      out.destroy();
      sink.destroy();
      await rm(`${path}.partial`, { force: true });
    }
    throw err;
  }
});
