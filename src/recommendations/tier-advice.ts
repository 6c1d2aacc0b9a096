/** Tier advice (pure): which tenants should move up or down, from their load over a window. */
import { planDefinition } from '../plans/plan-limits.js';
import { refusal, type ServerLoad } from '../servers/server-capacity.js';
import { tiers, type Tier } from '../tenants/placement.js';
import { emptyFigures, latencyQuantileMs, type LoadFigures } from '../usage/load-totals.js';
import { latencyBoundsMs } from '../usage/tenant-load.js';

export interface AdviceThresholds {
  /** Share of its server's database time (0 to 1). */
  dbTimeShare: number;
  /** Below this database time per minute the share does not count. */
  minDbMsPerMinute: number;
  /** Share of the tenant's requestsPerMinute. */
  rateShare: number;
  p99Ms: number;
  /** Requests in the window for its p99 to count. */
  minRequests: number;
  guardRejections: number;
  /** Size at which the tier is too small; the top tier has none. */
  maxRows: Record<'pooled' | 'schema', number>;
  maxStorageBytes: Record<'pooled' | 'schema', number>;
  /** Requests per minute at or below which a dedicated tenant idles. */
  idlePerMinute: number;
}

export const signals = ['dbTimeShare', 'dbTimePerMinute', 'requestRate', 'p99', 'guardRejections', 'rows', 'storage'] as const;

export interface Evidence {
  signal: (typeof signals)[number];
  value: number;
  threshold: number;
  /** Inclusive of the threshold. */
  crossed: 'above' | 'below';
  unit: string;
}

export interface AdviceTenant {
  id: string;
  slug: string;
  tier: Tier;
  serverId: string;
  plan: string;
  /** With the tenant's overrides. */
  requestsPerMinute: number;
  /** Only active tenants are advised; the others' load still counts to their server. */
  movable: boolean;
  createdAtMs: number;
  /** When its last move flipped it; null: never moved. */
  movedAtMs: number | null;
}

export interface AdviceInput {
  nowMs: number;
  windowMs: number;
  tenants: AdviceTenant[];
  servers: ServerLoad[];
  /** Absent: no load. */
  figures: ReadonlyMap<string, LoadFigures>;
  /** As last measured, whatever the window: size is a state, not a rate. */
  footprints: ReadonlyMap<string, { rows: number; bytes: number }>;
}

export interface Recommendation {
  tenantId: string;
  slug: string;
  direction: 'up' | 'down';
  current: { tier: Tier; server: string };
  /** `server` and `move` are null when blocked. */
  suggested: { tier: Tier; server: string | null };
  evidence: Evidence[];
  move: { targetTier: Tier; targetServer: string } | null;
  blocked: string | null;
}

const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;

export function recommend(input: AdviceInput, thresholds: AdviceThresholds): Recommendation[] {
  const minutes = input.windowMs / 60_000;
  const windowStart = input.nowMs - input.windowMs;
  const tenantsById = new Map(input.tenants.map((t) => [t.id, t]));
  const dbTimeOf = new Map<string, number>();
  for (const [id, f] of input.figures) {
    const tenant = tenantsById.get(id);
    if (tenant) dbTimeOf.set(tenant.serverId, (dbTimeOf.get(tenant.serverId) ?? 0) + f.dbTimeMs);
  }
  const servers = new Map(input.servers.map((s) => [s.server.id, s]));
  const dbLoad = (load: ServerLoad) => (dbTimeOf.get(load.server.id) ?? 0) / load.server.weight;

  /** Its own server if it takes the tenant, else the one with least database time per weight. */
  function target(tenant: AdviceTenant, tier: Tier, dbTimeMs: number): { server: ServerLoad | undefined; blocked: string | null } {
    const current = servers.get(tenant.serverId);
    if (tier === tenant.tier) {
      // Less loaded: with the tenant, it would carry less than the current server does now.
      const now = current ? dbLoad(current) : 0;
      const lighter = input.servers
        .filter((s) => s.server.id !== tenant.serverId && refusal(s, tier) === null && dbLoad(s) + dbTimeMs / s.server.weight < now)
        .sort((a, b) => dbLoad(a) - dbLoad(b) || a.server.name.localeCompare(b.server.name))[0];
      return lighter
        ? { server: lighter, blocked: null }
        : { server: undefined, blocked: `no other server takes a ${tier} tenant with less database time than its own` };
    }
    if (current && refusal(current, tier) === null) return { server: current, blocked: null };
    const open = input.servers.filter((s) => refusal(s, tier) === null).sort((a, b) => dbLoad(a) - dbLoad(b) || a.server.name.localeCompare(b.server.name));
    return open[0] ? { server: open[0], blocked: null } : { server: undefined, blocked: `no server takes a new ${tier} tenant` };
  }

  function upEvidence(tenant: AdviceTenant, f: LoadFigures): Evidence[] {
    const found: Evidence[] = [];
    const serverDb = dbTimeOf.get(tenant.serverId) ?? 0;
    const share = serverDb > 0 ? f.dbTimeMs / serverDb : 0;
    const dbPerMinute = f.dbTimeMs / minutes;
    if (dbPerMinute >= thresholds.minDbMsPerMinute && share >= thresholds.dbTimeShare) {
      found.push({
        signal: 'dbTimeShare',
        value: round(share, 3),
        threshold: thresholds.dbTimeShare,
        crossed: 'above',
        unit: 'share of its server’s database time',
      });
      found.push({ signal: 'dbTimePerMinute', value: round(dbPerMinute, 1), threshold: thresholds.minDbMsPerMinute, crossed: 'above', unit: 'ms per minute' });
    }
    const rate = f.requests / minutes;
    const rateLimit = thresholds.rateShare * tenant.requestsPerMinute;
    if (rate >= rateLimit)
      found.push({ signal: 'requestRate', value: round(rate, 1), threshold: round(rateLimit, 1), crossed: 'above', unit: 'requests per minute' });
    const p99 = latencyQuantileMs(f.latency, 0.99);
    // The p99 is its bucket's upper bound: surely above the threshold only if the bucket starts there.
    const p99Floor = p99 === null ? 0 : (latencyBoundsMs[latencyBoundsMs.indexOf(p99 as (typeof latencyBoundsMs)[number]) - 1] ?? 0);
    if (f.requests >= thresholds.minRequests && p99 !== null && p99Floor >= thresholds.p99Ms) {
      found.push({ signal: 'p99', value: p99, threshold: thresholds.p99Ms, crossed: 'above', unit: 'ms (upper bound of its latency bucket)' });
    }
    if (f.guardRejections >= thresholds.guardRejections) {
      found.push({
        signal: 'guardRejections',
        value: f.guardRejections,
        threshold: thresholds.guardRejections,
        crossed: 'above',
        unit: 'statement timeouts and concurrency-cap refusals',
      });
    }
    const size = input.footprints.get(tenant.id);
    if (size && tenant.tier !== 'dedicated') {
      if (size.rows >= thresholds.maxRows[tenant.tier])
        found.push({ signal: 'rows', value: size.rows, threshold: thresholds.maxRows[tenant.tier], crossed: 'above', unit: 'rows' });
      if (size.bytes >= thresholds.maxStorageBytes[tenant.tier]) {
        found.push({ signal: 'storage', value: size.bytes, threshold: thresholds.maxStorageBytes[tenant.tier], crossed: 'above', unit: 'bytes' });
      }
    }
    return found;
  }

  /** Null unless a dedicated tenant idles and would fit a schema. */
  function idleEvidence(tenant: AdviceTenant, f: LoadFigures): Evidence[] | null {
    // Dedicated the whole window, on a plan that does not promise a dedicated database.
    if (tenant.tier !== 'dedicated' || Math.max(tenant.createdAtMs, tenant.movedAtMs ?? 0) > windowStart) return null;
    if (planDefinition(tenant.plan).defaultTier === 'dedicated') return null;
    const rate = f.requests / minutes;
    if (rate > thresholds.idlePerMinute) return null;
    const found: Evidence[] = [
      { signal: 'requestRate', value: round(rate, 1), threshold: thresholds.idlePerMinute, crossed: 'below', unit: 'requests per minute' },
    ];
    const size = input.footprints.get(tenant.id);
    if (size) {
      // Too big for a schema, it would be advised straight back up.
      if (size.rows >= thresholds.maxRows.schema || size.bytes >= thresholds.maxStorageBytes.schema) return null;
      found.push({ signal: 'rows', value: size.rows, threshold: thresholds.maxRows.schema, crossed: 'below', unit: 'rows' });
      found.push({ signal: 'storage', value: size.bytes, threshold: thresholds.maxStorageBytes.schema, crossed: 'below', unit: 'bytes' });
    }
    return found;
  }

  const advised: (Recommendation & { dbTimeMs: number })[] = [];
  for (const tenant of input.tenants) {
    if (!tenant.movable) continue;
    const f = input.figures.get(tenant.id) ?? emptyFigures();
    const serverName = servers.get(tenant.serverId)?.server.name ?? tenant.serverId;
    let direction: Recommendation['direction'];
    let evidence = upEvidence(tenant, f);
    let tier: Tier;
    if (evidence.length) {
      // Load measured partly in its former placement says little now.
      if (tenant.movedAtMs !== null && tenant.movedAtMs > windowStart) continue;
      direction = 'up';
      tier = tiers[Math.min(tiers.indexOf(tenant.tier) + 1, tiers.length - 1)]!;
    } else {
      const idle = idleEvidence(tenant, f);
      if (!idle) continue;
      direction = 'down';
      evidence = idle;
      tier = 'schema';
    }
    const { server, blocked } = target(tenant, tier, f.dbTimeMs);
    advised.push({
      tenantId: tenant.id,
      slug: tenant.slug,
      direction,
      current: { tier: tenant.tier, server: serverName },
      suggested: { tier, server: server?.server.name ?? null },
      evidence,
      move: server ? { targetTier: tier, targetServer: server.server.name } : null,
      blocked,
      dbTimeMs: f.dbTimeMs,
    });
  }
  // Up first; then the most signals crossed, the most database time.
  return advised
    .sort(
      (a, b) =>
        (a.direction === b.direction ? 0 : a.direction === 'up' ? -1 : 1) ||
        b.evidence.length - a.evidence.length ||
        b.dbTimeMs - a.dbTimeMs ||
        a.slug.localeCompare(b.slug),
    )
    .map(({ dbTimeMs: _dbTimeMs, ...rec }) => rec);
}
