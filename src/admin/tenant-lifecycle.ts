/**
 * The tenant lifecycle, for admin routes and scripts. Every change bumps the version, is announced,
 * and is audited (actor null: a script) in its own catalog transaction: no record, no action.
 */
import type { CatalogClient, Tenant } from '../catalog/catalog-client.js';
import type { TenantDirectory } from '../catalog/tenant-directory.js';
import type { Prisma, TenantStatus } from '../generated/catalog/client.js';
import { planDefinition } from '../plans/plan-limits.js';
import type { Log } from '../platform/log.js';
import { AppError, problems } from '../http/problems.js';
import type { TenantRouter } from '../router/tenant-router.js';
import { mergePatch, tenantConfig, type TenantConfig } from '../settings/tenant-config.js';
import type { Tier } from '../tenants/placement.js';
import { activateTenant, discardProvisioning, prepareStorage, type ProvisioningDeps, reserveTenant } from '../tenants/provision-tenant.js';
import { createUser } from '../users/user-store.js';
import { recordAdminAction } from './admin-audit.js';

export class TenantStateError extends AppError {
  constructor(
    readonly tenant: Tenant,
    action: string,
  ) {
    super(problems.tenantState, `The tenant is ${tenant.status}: it cannot be ${action}`, undefined, { tenantStatus: tenant.status });
    this.name = 'TenantStateError';
  }
}

export class TenantNotFoundError extends AppError {
  constructor() {
    super(problems.notFound, 'No such tenant');
    this.name = 'TenantNotFoundError';
  }
}

export interface LifecycleDeps {
  catalog: CatalogClient;
  tenants: Pick<TenantDirectory, 'changed'>;
  router: Pick<TenantRouter, 'clientFor'>;
  provisioning: ProvisioningDeps;
  log: Log;
}

export interface CreateTenantInput {
  slug: string;
  name: string;
  plan: string;
  tier?: Tier;
  server?: string;
  config?: TenantConfig;
  owner: { email: string; name: string };
}

/**
 * All or nothing: the tenant becomes active with its audit record once its owner exists; a failure
 * before that removes what was made, freeing the slug. The owner's password is returned here only.
 */
export async function createTenant(deps: LifecycleDeps, actor: string | null, input: CreateTenantInput) {
  const { provisioning } = deps;
  const tier = input.tier ?? planDefinition(input.plan).defaultTier;
  // The insert claims the slug: a concurrent creation is refused before anything is made.
  const reserved = await reserveTenant(provisioning, { ...input, tier });
  try {
    await prepareStorage(provisioning, reserved);
    const { user, temporaryPassword } = await createUser(
      { db: deps.router.clientFor(reserved), catalog: deps.catalog, tenantId: reserved.id },
      { email: input.owner.email, name: input.owner.name, role: 'owner' },
    );
    const tenant = await activateTenant(provisioning, reserved, (tx, tenant) =>
      recordAdminAction(tx, {
        adminId: actor,
        action: 'tenant.create',
        tenantId: tenant.id,
        details: { slug: tenant.slug, plan: tenant.plan, tier: tenant.tier, owner: user.email },
      }),
    );
    return { tenant, owner: { id: user.id, email: user.email, password: temporaryPassword! } };
  } catch (err) {
    await discardProvisioning(provisioning, reserved).catch((undo: unknown) =>
      deps.log.error({ err: undo, tenantId: reserved.id }, 'could not undo a failed tenant creation; resume or remove it by hand'),
    );
    throw err;
  }
}

export async function findTenant(deps: Pick<LifecycleDeps, 'catalog'>, id: string): Promise<Tenant> {
  const tenant = await deps.catalog.tenant.findUnique({ where: { id } });
  if (!tenant) throw new TenantNotFoundError();
  return tenant;
}

/**
 * A new plan changes limits and features, not where the data lives. The config is a JSON Merge
 * Patch, validated merged before anything is written.
 */
export async function updateTenant(
  deps: Pick<LifecycleDeps, 'catalog' | 'tenants'>,
  actor: string | null,
  id: string,
  patch: { name?: string; plan?: string; config?: Record<string, unknown> },
): Promise<Tenant> {
  const tenant = await deps.catalog.$transaction(async (tx) => {
    // Locked, so concurrent config patches merge in turn, not onto the same base.
    const [current] = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM tenants WHERE id = ${id}::uuid FOR UPDATE`;
    if (!current) throw new TenantNotFoundError();
    const before = await tx.tenant.findUniqueOrThrow({ where: { id } });
    if (before.status === 'deleted') throw new TenantStateError(before, 'changed');
    const config = patch.config === undefined ? undefined : validConfig(mergePatch(before.config, patch.config));
    const updated = await tx.tenant.update({
      where: { id },
      data: { name: patch.name, plan: patch.plan, config: config as Prisma.InputJsonObject | undefined, version: { increment: 1 } },
    });
    const after = { name: patch.name, plan: patch.plan, config };
    const changes = Object.fromEntries(
      (['name', 'plan', 'config'] as const).filter((k) => after[k] !== undefined).map((k) => [k, { from: before[k], to: after[k] }]),
    );
    await recordAdminAction(tx, { adminId: actor, action: 'tenant.update', tenantId: id, details: changes });
    return updated;
  });
  await deps.tenants.changed(id);
  return tenant;
}

/** The merged config, or a 400 naming each invalid field of the request. */
function validConfig(document: unknown): TenantConfig {
  const result = tenantConfig.safeParse(document);
  if (result.success) return result.data;
  const errors = result.error.issues.map((issue) => ({ field: ['body', 'config', ...issue.path].join('.'), message: issue.message }));
  throw new AppError(problems.invalidRequest, 'Some fields are invalid', errors);
}

const transitions = {
  suspend: { from: ['active'], to: 'suspended', done: 'suspended' },
  reactivate: { from: ['suspended'], to: 'active', done: 'reactivated' },
  delete: { from: ['active', 'suspended'], to: 'deleted', done: 'deleted' },
} as const satisfies Record<string, { from: TenantStatus[]; to: TenantStatus; done: string }>;

/**
 * One conditional update, so two admins racing cannot both act (nor act on a tenant that changed
 * meanwhile, e.g. one in a tier move).
 */
export async function changeStatus(
  deps: Pick<LifecycleDeps, 'catalog' | 'tenants'>,
  actor: string | null,
  id: string,
  action: keyof typeof transitions,
  details: Record<string, unknown> = {},
): Promise<Tenant> {
  const { from, to, done } = transitions[action];
  const tenant = await deps.catalog.$transaction(async (tx) => {
    const [changed] = await tx.tenant.updateManyAndReturn({
      where: { id, status: { in: [...from] } },
      data: { status: to, version: { increment: 1 } },
    });
    if (!changed) throw new TenantStateError(await findTenant(deps, id), done);
    await recordAdminAction(tx, { adminId: actor, action: `tenant.${action}`, tenantId: id, details });
    return changed;
  });
  await deps.tenants.changed(id);
  return tenant;
}

/** The suspension in force, from the audit trail. */
export async function currentSuspension(deps: Pick<LifecycleDeps, 'catalog'>, tenant: Tenant) {
  if (tenant.status !== 'suspended') return null;
  const event = await deps.catalog.adminAuditEvent.findFirst({
    where: { tenantId: tenant.id, action: 'tenant.suspend' },
    orderBy: [{ at: 'desc' }, { id: 'desc' }],
  });
  return event ? { reason: String((event.details as { reason?: unknown }).reason ?? ''), at: event.at.toISOString() } : null;
}
