/**
 * The tenant bound to the current async call chain, set only by the router's handles. No default:
 * unbound database access is an error, never another tenant's rows.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { escapeIdentifier, escapeLiteral } from 'pg';
import type { TenantPlacement, Tier } from '../tenants/placement.js';
import { uuidPattern } from '../tenants/placement.js';
import { noGuards, type TenantGuards } from './tenant-guards.js';

export interface TenantBinding {
  tenantId: string;
  tier: Tier;
  serverId: string;
  database: string;
  schemaIdent: string;
  context: [tenantId: string, searchPath: string, statementTimeout: string | null];
  beginSql: string;
  guards: TenantGuards;
}

const storage = new AsyncLocalStorage<TenantBinding>();

export class NoTenantBoundError extends Error {
  constructor() {
    super('No tenant is bound to this call: tenant data is reachable only through the router');
    this.name = 'NoTenantBoundError';
  }
}

export function bindingFor(tenant: TenantPlacement, guards: TenantGuards = noGuards): TenantBinding {
  // The id becomes a SQL literal: validate it even though it comes from the catalog.
  if (!uuidPattern.test(tenant.id)) throw new Error(`Refusing to bind malformed tenant id ${JSON.stringify(tenant.id)}`);
  const schemaIdent = escapeIdentifier(tenant.schemaName);
  const timeout = guards.statementTimeoutMs === null ? null : String(guards.statementTimeoutMs);
  return {
    tenantId: tenant.id,
    tier: tenant.tier,
    serverId: tenant.serverId,
    database: tenant.databaseName,
    schemaIdent,
    context: [tenant.id, schemaIdent, timeout],
    beginSql:
      `BEGIN; SELECT set_config('app.tenant_id', ${escapeLiteral(tenant.id)}, true), ` +
      `set_config('search_path', ${escapeLiteral(schemaIdent)}, true), ` +
      `set_config('statement_timeout', ${timeout === null ? 'NULL' : escapeLiteral(timeout)}, true)`,
    guards,
  };
}

export function runBound<T>(binding: TenantBinding, fn: () => T): T {
  return storage.run(binding, fn);
}

/** For plumbing that only carries the binding along. */
export function peekBinding(): TenantBinding | undefined {
  return storage.getStore();
}

export function currentBinding(): TenantBinding {
  const binding = storage.getStore();
  if (!binding) throw new NoTenantBoundError();
  return binding;
}
