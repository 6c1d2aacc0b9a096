/** Where a tenant's rows live, and the names a slug gives. */
import { z } from 'zod';

export const tiers = ['pooled', 'schema', 'dedicated'] as const;
export type Tier = (typeof tiers)[number];

export interface TenantPlacement {
  id: string;
  tier: Tier;
  serverId: string;
  schemaName: string;
  databaseName: string;
  version: number;
}

/** Tenant hosts are `<slug>.<STRATA_BASE_DOMAIN>`: these are the platform's own. */
export const reservedSlugs: ReadonlySet<string> = new Set([
  'www',
  'api',
  'admin',
  'app',
  'auth',
  'login',
  'logout',
  'signup',
  'sso',
  'oauth',
  'account',
  'accounts',
  'console',
  'dashboard',
  'portal',
  'docs',
  'help',
  'support',
  'status',
  'metrics',
  'health',
  'monitoring',
  'static',
  'assets',
  'cdn',
  'media',
  'files',
  'uploads',
  'mail',
  'email',
  'smtp',
  'imap',
  'pop',
  'mx',
  'ns1',
  'ns2',
  'dns',
  'ftp',
  'vpn',
  'blog',
  'billing',
  'dev',
  'staging',
  'test',
  'demo',
  'sandbox',
  'internal',
  'system',
  'root',
  'default',
  'public',
  'strata',
]);

/** Slugs become schema and database names: safe characters only. */
export const slugSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{1,38}[a-z0-9]$/, '3–40 characters: lowercase letters, digits and -, starting with a letter')
  .refine((slug) => !reservedSlugs.has(slug), 'is reserved for the platform’s own host names (see docs/architecture.md, Provisioning)');

export const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function placementNames(prefix: string, slug: string, tier: Tier, tenantsDatabase: string) {
  const ident = slug.replaceAll('-', '_');
  return {
    schemaName: tier === 'schema' ? `t_${ident}` : 'public',
    databaseName: tier === 'dedicated' ? `${prefix}_t_${ident}` : tenantsDatabase,
  };
}
