/**
 * Router series: events through a router observer, with child series made up front so a statement
 * costs no label lookup; pool state read at scrape time. Labels are bounded, never tenants.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ServerDirectory } from '../catalog/server-directory.js';
import type { RouterObserver, StatementEvent, TenantRouter } from '../router/tenant-router.js';
import { tiers } from '../tenants/placement.js';
import { TallyCounter, TallyHistogram } from './tallies.js';

const kinds: StatementEvent['kind'][] = ['statement', 'transaction'];

export function installRouterMetrics(registry: Registry, router: TenantRouter, servers: ServerDirectory): () => void {
  const registers = [registry];
  const duration = new TallyHistogram({
    name: 'strata_router_statement_duration_seconds',
    help: 'Time a statement or Prisma transaction held its connection, by tier and kind',
    labelNames: ['tier', 'kind'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
    registry,
  });
  const wait = new TallyHistogram({
    name: 'strata_router_connection_wait_seconds',
    help: "Time a statement or transaction waited for a connection (its pool's room, its tenant's turn, a free connection), by tier",
    labelNames: ['tier'],
    buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5],
    registry,
  });
  const failures = new Counter({
    name: 'strata_router_statement_failures_total',
    help: 'Statements and transactions that failed, by tier',
    labelNames: ['tier'],
    registers,
  });
  const context = new TallyCounter({
    name: 'strata_router_context_statements_total',
    help: 'Tenant context statements sent with a statement: kept (bound from its prepared form) or parsed (first on a connection, or behind a pooler)',
    labelNames: ['form'],
    registry,
  });
  const keptRuns = new TallyCounter({
    name: 'strata_router_kept_statement_runs_total',
    help: 'Statements run from a kept prepared statement, skipping parse',
    registry,
  }).series();
  const opened = new Counter({ name: 'strata_router_pools_opened_total', help: 'Tenant connection pools opened', registers });
  const evictions = new Counter({
    name: 'strata_router_pool_evictions_total',
    help: 'Tenant connection pools closed: room (evicted for another pool) or closed (on request)',
    labelNames: ['reason'],
    registers,
  });

  const children = new Map(tiers.map((tier) => [tier, new Map(kinds.map((kind) => [kind, duration.series(tier, kind)]))]));
  const waits = new Map(tiers.map((tier) => [tier, wait.series(tier)]));
  const [contextKept, contextParsed] = [context.series('kept'), context.series('parsed')];
  const observer: RouterObserver = {
    onStatement(e) {
      children
        .get(e.tier)
        ?.get(e.kind)
        ?.observe(e.durationMs / 1000);
      waits.get(e.tier)?.observe(e.waitMs / 1000);
      if (e.failed) failures.inc({ tier: e.tier });
      if (e.kind !== 'statement') return;
      (e.contextKept ? contextKept : contextParsed).inc();
      if (e.statementKept) keptRuns.inc();
    },
    onPoolOpened: () => opened.inc(),
    onPoolEvicted: (e) => evictions.inc({ reason: e.reason }),
  };

  const serverName = async (id: string) => (await servers.byId(id).catch(() => undefined))?.name ?? id;
  const perServer = (name: string, help: string, labelNames: string[], read: (g: Gauge, pools: Awaited<ReturnType<typeof poolsByServer>>) => void) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers,
      async collect() {
        this.reset();
        read(this, await poolsByServer());
      },
    });
  const poolsByServer = async () => Promise.all(router.poolStats().map(async (pool) => ({ ...pool, server: await serverName(pool.serverId) })));
  perServer(
    'strata_router_pools',
    'Tenant connection pools, by server, kind (shared or dedicated) and state (open or draining)',
    ['server', 'kind', 'state'],
    (g, pools) => {
      for (const p of pools) g.inc({ server: p.server, kind: p.shared ? 'shared' : 'dedicated', state: p.draining ? 'draining' : 'open' });
    },
  );
  perServer('strata_router_connections', 'Tenant connections open, by server and state (in_use or idle)', ['server', 'state'], (g, pools) => {
    for (const p of pools) {
      g.inc({ server: p.server, state: 'in_use' }, p.connections - p.idle);
      g.inc({ server: p.server, state: 'idle' }, p.idle);
    }
  });
  perServer(
    'strata_router_connection_waiters',
    "Statements waiting: for a free connection (connection), or for their tenant's turn on a shared pool (tenant_turn)",
    ['server', 'for'],
    (g, pools) => {
      for (const p of pools) {
        g.inc({ server: p.server, for: 'connection' }, p.waiting);
        g.inc({ server: p.server, for: 'tenant_turn' }, p.queued);
      }
    },
  );
  perServer('strata_router_kept_statements', 'Statements kept prepared on open tenant connections, by server', ['server'], (g, pools) => {
    for (const p of pools) g.inc({ server: p.server }, p.keptStatements);
  });

  const budget = (name: string, help: string, read: (b: ReturnType<TenantRouter['budget']>) => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read(router.budget()));
      },
    });
  budget(
    'strata_router_connection_budget',
    'Connections all tenant pools of this instance may be sized for (STRATA_CONNECTION_BUDGET)',
    (b) => b.connectionBudget,
  );
  budget('strata_router_connections_budgeted', 'Connections the open and draining pools are sized for, counted against the budget', (b) => b.budgeted);
  budget('strata_router_pools_max', 'Tenant pools this instance may hold open', (b) => b.maxPools);
  budget('strata_router_pools_waiting_for_room', 'Pools waiting for room in the budget', (b) => b.waitingForRoom);

  return router.observe(observer);
}
