/**
 * Imports a Strata tenant archive into an empty tenant (restore or clone), on any tier:
 * `npm run import -- --tenant acme-restored --in acme.strata` (`--in -` reads stdin).
 * The tenant must exist (npm run provision), at the archive's migration version or a later one.
 */
import { createReadStream } from 'node:fs';
import { parseArgs } from 'node:util';
import { recordAdminAction } from '../src/admin/admin-audit.js';
import { ArchiveFormatError } from '../src/transfer/archive-format.js';
import { importTenant, ImportRefusedError, ImportVerificationError } from '../src/transfer/import-tenant.js';
import { TransferStateError } from '../src/transfer/transfer-progress.js';
import { UsageError, withPlatform } from './cli.js';
import { tenantBySlug, transferProgress } from './transfer-cli.js';

const usage = 'usage: npm run import -- --tenant <slug> --in <file>|-';
const { values } = parseArgs({ options: { tenant: { type: 'string' }, in: { type: 'string' } } });

await withPlatform(async (platform) => {
  const tenant = await tenantBySlug(platform, values.tenant, usage);
  if (!values.in) throw new UsageError(usage);
  const input = values.in === '-' ? process.stdin : createReadStream(values.in);
  const { reporter, onProgress } = transferProgress(process.stdout);
  const started = performance.now();
  try {
    const result = await importTenant(platform, tenant, input, { onProgress });
    const { manifest } = result;
    await recordAdminAction(platform.catalog, {
      adminId: null,
      action: 'tenant.import',
      tenantId: tenant.id,
      details: { rows: result.rows, from: manifest.tenant.slug, fromTenantId: manifest.tenant.id, exportedAt: manifest.exportedAt },
    });
    const seconds = (performance.now() - started) / 1000;
    reporter.finish({
      event: 'import.finished',
      tenant: tenant.slug,
      from: manifest.tenant.slug,
      rows: result.rows,
      seconds: Math.round(seconds * 100) / 100,
      rowsPerSecond: Math.round(result.rows / seconds),
    });
  } catch (err) {
    // Refusals are the operator's to act on: say why, without a stack trace. The tenant is unchanged.
    if ([ArchiveFormatError, ImportRefusedError, ImportVerificationError, TransferStateError].some((type) => err instanceof type)) {
      console.error(`import refused, tenant ${tenant.slug} unchanged: ${(err as Error).message}`);
      return 1;
    }
    throw err;
  }
});
