/**
 * Provisions a tenant: `npm run provision -- --slug acme --name "Acme" --plan business --tier schema`.
 * Safe to re-run after a crash: it resumes the tenant it started.
 */
import { parseArgs } from 'node:util';
import { ZodError } from 'zod';
import { provisionTenant } from '../src/tenants/provision-tenant.js';
import { UsageError, withPlatform } from './cli.js';

const { values } = parseArgs({
  options: {
    slug: { type: 'string' },
    name: { type: 'string' },
    plan: { type: 'string', default: 'free' },
    tier: { type: 'string', default: 'pooled' },
    server: { type: 'string' },
  },
});

await withPlatform(async (platform) => {
  const started = performance.now();
  const tenant = await provisionTenant(platform.provisioning, {
    slug: values.slug ?? '',
    name: values.name ?? values.slug ?? '',
    plan: values.plan!,
    tier: values.tier as 'pooled',
    server: values.server,
  }).catch((err: unknown) => {
    if (err instanceof ZodError) {
      throw new UsageError(`usage: --slug <slug> [--name <name>] [--plan <plan>] [--tier pooled|schema|dedicated] [--server <name>]\n${err.issues.map((i) => `  --${i.path.join('.')}: ${i.message}`).join('\n')}`);
    }
    throw err;
  });
  const { id, slug, tier, status, schemaName, databaseName, version } = tenant;
  console.log(JSON.stringify({ id, slug, tier, status, schemaName, databaseName, version, ms: Math.round(performance.now() - started) }));
});
