/**
 * Tenant users, in the tenant's tier (password hashes never leave it). Keeps the catalog's login
 * index in step; a tenant always keeps an active owner.
 */
import { randomBytes } from 'node:crypto';
import { addLoginRoute, normalizeEmail, removeLoginRoute } from '../auth/login-index.js';
import { hashPassword } from '../auth/passwords.js';
import { revokeUserTokens } from '../auth/refresh-tokens.js';
import { type Actor, recordChange } from '../audit/tenant-audit.js';
import type { CatalogClient } from '../catalog/catalog-client.js';
import { RecordNotFoundError, VersionConflictError } from '../records/record-errors.js';
import { recordWrites } from '../records/record-store.js';
import type { Prisma, User } from '../generated/tenant/client.js';
import type { WithValues } from '../records/domain-values.js';
import { after, page } from '../pagination/keyset-cursor.js';
import { assertBelowLimit } from '../plans/quotas.js';
import type { TenantClient } from '../router/tenant-router.js';
import type { UserStanding } from '../auth/user-standing.js';
import type { UserCreate, UserListQuery, UserPatch, UserRole, UserStatus } from './user-schemas.js';
import { AppError, problems } from '../http/problems.js';

export type UserRecord = WithValues<User, { role: UserRole; status: UserStatus }>;

const entity = 'user';
// Creation only: updateUser locks and checks the user itself.
const users = recordWrites({ entity });

export class EmailTakenError extends AppError {
  constructor() {
    super(problems.emailTaken, 'a user with this email already exists in this tenant');
    this.name = 'EmailTakenError';
  }
}

export class LastOwnerError extends AppError {
  constructor() {
    super(problems.lastOwner, 'this would leave the tenant without an active owner');
    this.name = 'LastOwnerError';
  }
}

interface Context {
  db: TenantClient;
  catalog: CatalogClient;
  tenantId: string;
  /** For the audit trail; null or absent: the platform. */
  actorId?: string | null;
  operator?: string;
  onBehalfOf?: string;
  /** null or absent: no limit. */
  maxUsers?: number | null;
}

/** Changing a user ends the access tokens issued before, on every instance. */
interface ChangeContext extends Context {
  standing: Pick<UserStanding, 'changed'>;
  /** Throws if the caller may not change the user as locked. */
  authorize?: (current: UserRecord) => void;
}

const actor = (ctx: Context): Actor => ({ actorId: ctx.actorId ?? null, operator: ctx.operator, onBehalfOf: ctx.onBehalfOf });

export async function listUsers(db: TenantClient, query: UserListQuery) {
  const rows = await db.user.findMany({
    where: { role: query.role, status: query.status, ...after('createdAt', query.cursor) },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take: query.limit + 1,
  });
  return page(rows as UserRecord[], query.limit, (user) => user.createdAt);
}

export async function findUser(db: TenantClient, where: Prisma.UserWhereInput): Promise<UserRecord | null> {
  return (await db.user.findFirst({ where })) as UserRecord | null;
}

export async function getUser(db: TenantClient, id: string): Promise<UserRecord> {
  const user = await findUser(db, { id });
  if (!user) throw new RecordNotFoundError(entity);
  return user;
}

export async function createUser(ctx: Context, input: UserCreate): Promise<{ user: UserRecord; temporaryPassword?: string }> {
  const temporaryPassword = input.password ? undefined : randomBytes(15).toString('base64url');
  const email = normalizeEmail(input.email);
  const passwordHash = await hashPassword(input.password ?? temporaryPassword!);
  const user = await users
    .create({ db: ctx.db, actor: actor(ctx) }, { email, name: input.name, role: input.role }, async (tx) => {
      await assertBelowLimit(tx, 'users', ctx.maxUsers);
      return (await tx.user.create({ data: { email, name: input.name, role: input.role, passwordHash } })) as UserRecord;
    })
    .catch((err: unknown) => {
      // Emails are unique per tenant only: this says nothing about other tenants.
      if ((err as { code?: string }).code === 'P2002') throw new EmailTakenError();
      throw err;
    });
  await addLoginRoute(ctx.catalog, email, ctx.tenantId);
  return { user, temporaryPassword };
}

export async function updateUser(ctx: ChangeContext, id: string, patch: UserPatch, expectedVersion?: number): Promise<UserRecord> {
  const passwordHash = patch.password ? await hashPassword(patch.password) : undefined;
  const updated = await ctx.db.$transaction(async (tx) => {
    // Locked first, so two changes at one version cannot both pass; with the active owners, in one
    // order, so concurrent demotions neither deadlock nor remove the last owner.
    await tx.$queryRaw`SELECT id FROM users WHERE id = ${id}::uuid OR (role = 'owner' AND status = 'active') ORDER BY id FOR UPDATE`;
    const current = await tx.user.findFirst({ where: { id } });
    if (!current) throw new RecordNotFoundError(entity);
    ctx.authorize?.(current as UserRecord);
    if (expectedVersion !== undefined && current.version !== expectedVersion) throw new VersionConflictError(entity, current.version);
    const losesOwner = current.role === 'owner' && current.status === 'active' && ((patch.role && patch.role !== 'owner') || patch.status === 'deactivated');
    if (losesOwner) {
      // Unqualified: the search path is the tenant's schema.
      const owners = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM users WHERE role = 'owner' AND status = 'active' FOR UPDATE`;
      if (owners.filter((o) => o.id !== id).length === 0) throw new LastOwnerError();
    }
    if (patch.status === 'active' && current.status !== 'active') await assertBelowLimit(tx, 'users', ctx.maxUsers);
    const user = await tx.user.update({
      where: { tenantId_id: { tenantId: current.tenantId, id } },
      data: { name: patch.name, role: patch.role, status: patch.status, passwordHash, version: { increment: 1 } },
    });
    // The password itself never reaches the trail, only that it changed.
    const changes = { name: patch.name, role: patch.role, status: patch.status, ...(patch.password && { password: 'changed' }) };
    await recordChange(tx, actor(ctx), { entity, entityId: id, action: 'update', changes });
    return user as UserRecord;
  });
  await ctx.standing.changed(ctx.tenantId, id);
  if (patch.status === 'deactivated' || patch.password) await revokeUserTokens(ctx.db, id);
  if (patch.status === 'deactivated') await removeLoginRoute(ctx.catalog, updated.email, ctx.tenantId);
  if (patch.status === 'active') await addLoginRoute(ctx.catalog, updated.email, ctx.tenantId);
  return updated;
}
