/**
 * Mints an access token for a tenant user, for operators until the login flow exists:
 * `npm run token -- --tenant acme [--role owner] [--sub user-id] [--ttl 3600]`.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { accessClaims, signAccessToken } from '../src/auth/tokens.js';
import { uuidPattern } from '../src/tenants/placement.js';
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
  console.log(signAccessToken(platform.config.jwt, { sub, tid: tenant.id, role: role.data }, ttl));
});
