/**
 * Provisions a tenant: `npm run provision -- --slug acme --name "Acme" --plan business --tier schema`.
 * A slug that exists is refused, also while another run is provisioning it. After a crash, finish
 * the interrupted provisioning with `--resume` (same slug and tier). Recorded in the admin audit
 * trail as `tenant.create` by the operator (`--actor`, default `operator:<OS user>`).
 */
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { ZodError } from 'zod';
import { recordAdminAction } from '../src/admin/admin-audit.js';
import { provisionTenant, TenantExistsError } from '../src/tenants/provision-tenant.js';
import { UsageError, withPlatform } from './cli.js';

const { values } = parseArgs({
  options: {
    slug: { type: 'string' },
    name: { type: 'string' },
    plan: { type: 'string', default: 'free' },
    tier: { type: 'string', default: 'pooled' },
    server: { type: 'string' },
    resume: { type: 'boolean', default: false },
    actor: { type: 'string' },
  },
});
const usage = 'usage: --slug <slug> [--name <name>] [--plan <plan>] [--tier pooled|schema|dedicated] [--server <name>] [--resume] [--actor <who>]';
const operator = values.actor ?? `operator:${userInfo().username}`;

await withPlatform(async (platform) => {
  const started = performance.now();
  const input = { slug: values.slug ?? '', name: values.name ?? values.slug ?? '', plan: values.plan!, tier: values.tier as 'pooled', server: values.server };
  const tenant = await provisionTenant(platform.provisioning, input, {
    resume: values.resume,
    onActivate: (tx, tenant) =>
      recordAdminAction(tx, {
        adminId: null,
        operator,
        action: 'tenant.create',
        tenantId: tenant.id,
        details: { slug: tenant.slug, plan: tenant.plan, tier: tenant.tier, ...(values.resume && { resumed: true }) },
      }),
  }).catch((err: unknown) => {
    if (err instanceof ZodError) throw new UsageError(`${usage}\n${err.issues.map((i) => `  --${i.path.join('.')}: ${i.message}`).join('\n')}`);
    if (err instanceof TenantExistsError) return err;
    throw err;
  });
  if (tenant instanceof TenantExistsError) {
    console.error(`not provisioned: ${tenant.message}`);
    return 73; // EX_CANTCREAT
  }
  const { id, slug, tier, status, schemaName, databaseName, version } = tenant;
  console.log(JSON.stringify({ id, slug, tier, status, schemaName, databaseName, version, ms: Math.round(performance.now() - started) }));
});
