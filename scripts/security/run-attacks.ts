/**
 * One attack run against a listening Strata: builds its fixtures through the public API, then runs
 * the attacks of each OWASP API Security Top 10 (2023) category in turn. Framework-free: the CLI
 * (attack.ts) and the test call it alike.
 */
import type { Tier } from '../../src/tenants/placement.js';
import { tiers } from '../../src/tenants/placement.js';
import { bola } from './api1-bola.js';
import { brokenAuthentication } from './api2-authentication.js';
import { propertyAuthorization } from './api3-property-authorization.js';
import { resourceConsumption } from './api4-resource-consumption.js';
import { functionAuthorization } from './api5-function-authorization.js';
import { businessFlows } from './api6-business-flows.js';
import { serverSideRequestForgery } from './api7-ssrf.js';
import { misconfiguration } from './api8-misconfiguration.js';
import { inventory } from './api9-inventory.js';
import { unsafeConsumption } from './api10-unsafe-consumption.js';
import { type Attack, AttackLog, type Category, type CategoryCount } from './attack-log.js';
import { AttackContext, CategorySliceDone, type RunOptions } from './attack-context.js';
import { buildFixtures, type Fixtures } from './fixtures.js';

export interface RunSettings extends RunOptions {
  /**
   * Makes a tenant without any data (an operator's `npm run provision`, which adds no user) and
   * returns its id; only possible on a server the run started. Without it, hostile archives go to
   * tenants with data.
   */
  provisionEmpty?: (slug: string, tier: Tier) => Promise<string>;
}

export interface RunResult {
  target: string;
  quick: boolean;
  startedAt: string;
  ms: number;
  counts: CategoryCount[];
  findings: Attack[];
  /** Unexpected 429s waited out (budgets of a server the run did not configure). */
  throttleWaits: number;
  attacks: Attack[];
}

type Attacks = (ctx: AttackContext, fx: Fixtures) => Promise<void>;

export async function runAttacks(url: string, settings: RunSettings, out: { tty: boolean; write: (line: string) => void }): Promise<RunResult> {
  const startedAt = new Date();
  const log = new AttackLog(out);
  const ctx = new AttackContext(url, log, settings);
  try {
    const fx = await buildFixtures(ctx);
    const empty = settings.provisionEmpty;
    const emptyTenants = empty
      ? (Object.fromEntries(await Promise.all(tiers.map(async (tier) => [tier, await empty(`atk${fx.runId}-empty-${tier}`, tier)]))) as Record<Tier, string>)
      : undefined;
    const plan: [Category, Attacks][] = [
      ['API1', bola],
      ['API2', brokenAuthentication],
      ['API3', propertyAuthorization],
      ['API4', resourceConsumption],
      ['API5', functionAuthorization],
      ['API6', businessFlows],
      ['API7', serverSideRequestForgery],
      ['API8', misconfiguration],
      ['API9', inventory],
      ['API10', (c, f) => unsafeConsumption(c, f, emptyTenants)],
    ];
    for (const [category, attacks] of plan) {
      ctx.category = category;
      const started = performance.now();
      ctx.slicing = true;
      const failure = await attacks(ctx, fx).then(
        () => undefined,
        (err: unknown) => err,
      );
      ctx.slicing = false;
      // An attack that breaks the run's own footing (a setup call refused) is reported, and the run goes on.
      if (failure && !(failure instanceof CategorySliceDone)) {
        ctx.record('the category ran to its end', category, 'no error', String((failure as Error).stack ?? failure).slice(0, 500), false);
      }
      log.categoryDone(category, performance.now() - started);
    }
    ctx.category = 'API4';
    ctx.expect('the server still answers after the run', await ctx.send('GET', '/healthz'), 200);
  } finally {
    ctx.close();
  }
  return {
    target: url,
    quick: settings.quick,
    startedAt: startedAt.toISOString(),
    ms: Date.now() - startedAt.getTime(),
    counts: log.counts(),
    findings: log.findings(),
    throttleWaits: ctx.throttleWaits,
    attacks: log.attacks,
  };
}
