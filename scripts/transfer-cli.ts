/** What the export and import commands share: finding the tenant and showing progress. */
import type { Writable } from 'node:stream';
import type { Tenant } from '../src/catalog/catalog-client.js';
import type { Platform } from '../src/platform/platform.js';
import { createProgressReporter, type ProgressReporter } from '../src/progress/progress-reporter.js';
import type { TransferProgress } from '../src/transfer/transfer-progress.js';
import { UsageError } from './cli.js';

export async function tenantBySlug(platform: Platform, slug: string | undefined, usage: string): Promise<Tenant> {
  if (!slug) throw new UsageError(usage);
  const tenant = await platform.catalog.tenant.findUnique({ where: { slug } });
  if (!tenant) throw new UsageError(`no tenant with slug "${slug}"`);
  return tenant;
}

/**
 * A bar counting rows on a terminal, JSON lines on `lines` otherwise (stderr when the archive
 * itself goes to stdout).
 */
export function transferProgress(lines: Writable): { reporter: ProgressReporter; onProgress: (event: TransferProgress) => void } {
  const reporter = createProgressReporter({ tty: Boolean(process.stderr.isTTY), out: lines, err: process.stderr });
  return {
    reporter,
    onProgress(event) {
      if (event.event.endsWith('.started')) reporter.start(event.rows as number, `${event.event.split('.')[0]} ${String(event.tenant)}`);
      else reporter.report(event, event.event.endsWith('.rows') ? (event.advance as number) : 0);
    },
  };
}
