/**
 * Mints an access token for a tenant user, for operators:
 * `npm run token -- --tenant acme [--role owner] [--sub user-id] [--ttl 3600]`. The token names
 * the operator as its actor (`act`, RFC 8693), so the tenant's trail records the operator rather
 * than the user; the minting itself goes to the admin audit trail.
 */
import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import { recordAdminAction } from '../src/admin/admin-audit.js';
import { parseArgs } from 'node:util';
import { accessClaims, signAccessToken } from '../src/auth/tokens.js';
import { uuidPattern } from '../src/tenants/placement.js';
import { findUser } from '../src/users/user-store.js';
import { UsageError, withPlatform } from './cli.js';

const { values } = parseArgs({
  options: {
    tenant: { type: 'string' },
    role: { type: 'string', default: 'owner' },
    sub: { type: 'string' },
    ttl: { type: 'string' },
  },
});

await withPlatform(async (platform) => {
  if (!values.tenant) throw new UsageError('usage: --tenant <slug> [--role owner|admin|manager|staff] [--sub <user id>] [--ttl <seconds>]');
  const tenant = await platform.catalog.tenant.findUnique({ where: { slug: values.tenant } });
  if (!tenant) throw new UsageError(`no tenant with slug ${values.tenant}`);
  const role = accessClaims.shape.role.safeParse(values.role);
  if (!role.success) throw new UsageError(`--role must be one of ${accessClaims.shape.role.options.join(', ')}`);
  const ttl = values.ttl === undefined ? undefined : Number(values.ttl);
  if (ttl !== undefined && !(Number.isInteger(ttl) && ttl > 0)) throw new UsageError('--ttl must be a positive number of seconds');
  // Without --sub the token names no user: good for setting up a tenant's first users.
  const sub = values.sub ?? randomUUID();
  if (!uuidPattern.test(sub)) throw new UsageError('--sub must be a user id (uuid)');
  // A token naming a user carries their version, like theirs from a login (see user-standing.ts).
  const user = values.sub ? await findUser(platform.router.clientFor(tenant), { id: sub }) : null;
  const operator = `operator:${userInfo().username}`;
  const token = signAccessToken(platform.config.jwt, { sub, tid: tenant.id, role: role.data, ver: user?.version, act: { sub: operator } }, ttl);
  await recordAdminAction(platform.catalog, {
    adminId: null,
    action: 'token.mint',
    tenantId: tenant.id,
    details: { operator, subject: sub, subjectIsUser: user !== null, role: role.data, ttlSeconds: ttl ?? platform.config.jwt.ttlSeconds },
  });
  console.log(token);
});
