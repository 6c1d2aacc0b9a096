/**
 * The platform operator's tenant lifecycle, framework-free (the admin routes and scripts call it):
 * create with a first owner, update, suspend / reactivate, soft delete. Every change bumps the
 * tenant's version, is announced through `platform.tenants.changed` (so every API instance drops
 * its cached row at once) and is recorded in the admin audit trail by `actor` (null: a script).
 */
import type { Tenant } from '../catalog/catalog-client.js';
import type { Prisma, TenantStatus } from '../generated/catalog/client.js';
import { planDefinition } from '../plans/plan-limits.js';
import type { Platform } from '../platform/platform.js';
import type { TenantConfig } from '../settings/tenant-config.js';
import type { Tier } from '../tenants/placement.js';
import { provisionTenant } from '../tenants/provision-tenant.js';
import { createUser } from '../users/user-store.js';
import { recordAdminAction } from './admin-audit.js';

export class TenantStateError extends Error {
  constructor(
    readonly tenant: Tenant,
    action: string,
  ) {
    super(`The tenant is ${tenant.status}: it cannot be ${action}`);
    this.name = 'TenantStateError';
  }
}

export class TenantNotFoundError extends Error {
  constructor() {
    super('No such tenant');
    this.name = 'TenantNotFoundError';
  }
}

export interface CreateTenantInput {
  slug: string;
  name: string;
  plan: string;
  /** Default: the plan's tier. */
  tier?: Tier;
  /** Catalog name of the database server; default: the oldest one accepting tenants. */
  server?: string;
  config?: TenantConfig;
  owner: { email: string; name: string };
}

/**
 * Provisions the tenant on its plan's tier (or the one given) and creates its first owner in the
 * tenant's tier, with a generated password returned here and nowhere else.
 */
export async function createTenant(platform: Platform, actor: string | null, input: CreateTenantInput) {
  const tier = input.tier ?? planDefinition(input.plan).defaultTier;
  let tenant = await provisionTenant(platform.provisioning, { slug: input.slug, name: input.name, plan: input.plan, tier, server: input.server });
  if (input.config) {
    tenant = await platform.catalog.tenant.update({ where: { id: tenant.id }, data: { config: input.config as Prisma.InputJsonObject, version: { increment: 1 } } });
  }
  const { user, temporaryPassword } = await createUser(
    { db: platform.router.clientFor(tenant), catalog: platform.catalog, tenantId: tenant.id },
    { email: input.owner.email, name: input.owner.name, role: 'owner' },
  );
  await recordAdminAction(platform.catalog, {
    adminId: actor,
    action: 'tenant.create',
    tenantId: tenant.id,
    details: { slug: tenant.slug, plan: tenant.plan, tier: tenant.tier, owner: user.email },
  });
  return { tenant, owner: { id: user.id, email: user.email, password: temporaryPassword! } };
}

export async function findTenant(platform: Platform, id: string): Promise<Tenant> {
  const tenant = await platform.catalog.tenant.findUnique({ where: { id } });
  if (!tenant) throw new TenantNotFoundError();
  return tenant;
}

/** Name, plan and config; a new plan changes limits and features, not where the data lives. */
export async function updateTenant(
  platform: Platform,
  actor: string | null,
  id: string,
  patch: { name?: string; plan?: string; config?: TenantConfig },
): Promise<Tenant> {
  const current = await findTenant(platform, id);
  if (current.status === 'deleted') throw new TenantStateError(current, 'changed');
  const tenant = await platform.catalog.tenant.update({
    where: { id },
    data: { name: patch.name, plan: patch.plan, config: patch.config as Prisma.InputJsonObject | undefined, version: { increment: 1 } },
  });
  await platform.tenants.changed(id);
  const changes = Object.fromEntries(
    (['name', 'plan', 'config'] as const).filter((k) => patch[k] !== undefined).map((k) => [k, { from: current[k], to: patch[k] }]),
  );
  await recordAdminAction(platform.catalog, { adminId: actor, action: 'tenant.update', tenantId: id, details: changes });
  return tenant;
}

const transitions = {
  suspend: { from: ['active'], to: 'suspended', done: 'suspended' },
  reactivate: { from: ['suspended'], to: 'active', done: 'reactivated' },
  delete: { from: ['active', 'suspended'], to: 'deleted', done: 'deleted' },
} as const satisfies Record<string, { from: TenantStatus[]; to: TenantStatus; done: string }>;

/**
 * Moves a tenant between statuses with one conditional update, so two admins racing cannot both
 * act (nor act on a tenant that changed meanwhile, e.g. one in a tier move).
 */
export async function changeStatus(
  platform: Platform,
  actor: string | null,
  id: string,
  action: keyof typeof transitions,
  details: Record<string, unknown> = {},
): Promise<Tenant> {
  const { from, to, done } = transitions[action];
  const [tenant] = await platform.catalog.tenant.updateManyAndReturn({
    where: { id, status: { in: [...from] } },
    data: { status: to, version: { increment: 1 } },
  });
  if (!tenant) throw new TenantStateError(await findTenant(platform, id), done);
  await platform.tenants.changed(id);
  await recordAdminAction(platform.catalog, { adminId: actor, action: `tenant.${action}`, tenantId: id, details });
  return tenant;
}

/** The reason and time of the suspension in force, from the audit trail. */
export async function currentSuspension(platform: Platform, tenant: Tenant) {
  if (tenant.status !== 'suspended') return null;
  const event = await platform.catalog.adminAuditEvent.findFirst({
    where: { tenantId: tenant.id, action: 'tenant.suspend' },
    orderBy: [{ at: 'desc' }, { id: 'desc' }],
  });
  return event ? { reason: String((event.details as { reason?: unknown }).reason ?? ''), at: event.at.toISOString() } : null;
}
