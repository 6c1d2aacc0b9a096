/**
 * The world the attacks run in, made only through the public API: a platform admin's login, two
 * tenants on each tier (alpha and beta, provisioned with POST /admin/tenants), users of every role
 * logged in through POST /auth/login, and a few records of each kind per tenant.
 */
import { randomBytes } from 'node:crypto';
import { tiers, type Tier } from '../../src/tenants/placement.js';
import type { AttackContext } from './attack-context.js';

export const roles = ['owner', 'admin', 'manager', 'staff'] as const;
export type Role = (typeof roles)[number];

export interface Account {
  id: string;
  email: string;
  password: string;
  role: Role;
  token: string;
  refreshToken: string;
}

export interface TenantFixture {
  tier: Tier;
  /** e.g. `alpha-pooled`. */
  label: string;
  id: string;
  slug: string;
  users: Record<Role, Account>;
  /** A second staff member, to whom none of the staff records belong. */
  otherStaff: Account;
  records: { lead: string; staffLead: string; deal: string; activity: string };
}

export interface Fixtures {
  /** Short random tag in every slug and email of this run. */
  runId: string;
  adminToken: string;
  alpha: Record<Tier, TenantFixture>;
  beta: Record<Tier, TenantFixture>;
  /** Every tenant, alpha first. */
  all: TenantFixture[];
}

/** Asserts a setup step worked: setup failures end the run (they are not findings). */
export function must<T>(what: string, status: number, expected: number, body: T): T {
  if (status !== expected) throw new Error(`setup: ${what} answered ${status}: ${JSON.stringify(body)}`);
  return body;
}

export async function adminLogin(ctx: AttackContext): Promise<string> {
  const res = await ctx.send('POST', '/admin/auth/login', { body: ctx.options.admin });
  return must('admin login', res.status, 200, res.body).accessToken as string;
}

export async function login(ctx: AttackContext, slug: string, email: string, password: string) {
  const res = await ctx.send('POST', '/auth/login', { body: { email, password, tenant: slug } });
  return must(`login of ${email}`, res.status, 200, res.body) as { accessToken: string; refreshToken: string };
}

/** A tenant made through the admin API, with its owner logged in; unmetered, so the run is not throttled. */
export async function createTenant(ctx: AttackContext, adminToken: string, slug: string, tier: Tier, extra: Record<string, unknown> = {}) {
  const owner = { email: `owner@${slug}.example`, name: `Owner of ${slug}` };
  const created = await ctx.send('POST', '/admin/tenants', {
    token: adminToken,
    body: { slug, name: `Tenant ${slug}`, plan: 'business', tier, owner, config: { limits: { requestsPerMinute: 1_000_000 } }, ...extra },
  });
  const body = must(`POST /admin/tenants ${slug}`, created.status, 201, created.body);
  const tokens = await login(ctx, slug, owner.email, body.owner.password);
  const account: Account = {
    id: body.owner.id,
    email: owner.email,
    password: body.owner.password,
    role: 'owner',
    token: tokens.accessToken,
    refreshToken: tokens.refreshToken,
  };
  return { id: body.tenant.id as string, slug, owner: account };
}

/** A user made by `by` through POST /users, logged in. */
export async function createAccount(ctx: AttackContext, slug: string, by: Account, role: Role, name: string): Promise<Account> {
  const email = `${name}@${slug}.example`;
  const password = `pw-${randomBytes(12).toString('hex')}`;
  const res = await ctx.send('POST', '/users', { token: by.token, body: { email, name, role, password } });
  const user = must(`POST /users ${email}`, res.status, 201, res.body);
  const tokens = await login(ctx, slug, email, password);
  return { id: user.id, email, password, role, token: tokens.accessToken, refreshToken: tokens.refreshToken };
}

async function createRecord(ctx: AttackContext, path: string, token: string, body: unknown): Promise<string> {
  const res = await ctx.send('POST', path, { token, body });
  return must(`POST ${path}`, res.status, 201, res.body).id as string;
}

async function tenantFixture(ctx: AttackContext, adminToken: string, runId: string, side: 'alpha' | 'beta', tier: Tier): Promise<TenantFixture> {
  const label = `${side}-${tier}`;
  const { id, slug, owner } = await createTenant(ctx, adminToken, `atk${runId}-${label}`, tier);
  const [admin, manager, staff, otherStaff] = await Promise.all([
    createAccount(ctx, slug, owner, 'admin', 'admin'),
    createAccount(ctx, slug, owner, 'manager', 'manager'),
    createAccount(ctx, slug, owner, 'staff', 'staff'),
    createAccount(ctx, slug, owner, 'staff', 'staff2'),
  ]);
  const lead = await createRecord(ctx, '/leads', owner.token, { name: `Lead of ${label}`, email: `lead@${slug}.example` });
  const staffLead = await createRecord(ctx, '/leads', staff.token, { name: `Staff lead of ${label}` });
  const deal = await createRecord(ctx, '/deals', owner.token, { title: `Deal of ${label}`, amount: '1000.00', currency: 'EUR', leadId: lead });
  const activity = await createRecord(ctx, '/activities', owner.token, { kind: 'note', body: `Note of ${label}`, leadId: lead });
  return {
    tier,
    label,
    id,
    slug,
    users: { owner, admin: admin!, manager: manager!, staff: staff! },
    otherStaff: otherStaff!,
    records: { lead, staffLead, deal, activity },
  };
}

export async function buildFixtures(ctx: AttackContext): Promise<Fixtures> {
  const runId = randomBytes(3).toString('hex');
  const adminToken = await adminLogin(ctx);
  const alpha = {} as Record<Tier, TenantFixture>;
  const beta = {} as Record<Tier, TenantFixture>;
  await Promise.all(
    tiers.map(async (tier) => {
      alpha[tier] = await tenantFixture(ctx, adminToken, runId, 'alpha', tier);
      beta[tier] = await tenantFixture(ctx, adminToken, runId, 'beta', tier);
    }),
  );
  return { runId, adminToken, alpha, beta, all: [...tiers.map((t) => alpha[t]), ...tiers.map((t) => beta[t])] };
}
