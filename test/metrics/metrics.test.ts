/**
 * GET /metrics through a real listening server: who may scrape it, that a real Prometheus text
 * parser reads it, that traffic of every tier shows up under its tier, and that the Grafana
 * dashboard in infra/ asks only for series the endpoint serves.
 */
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { parser } from '@prometheus-io/lezer-promql';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { test } from 'tap';
import { adminToken, bearer, provision, startTestPlatform, testApp, tiers, userWithToken } from '../helper.js';

interface Family {
  name: string;
  type: string;
  metrics: { labels?: Record<string, string>; value?: string; buckets?: Record<string, string>; count?: string }[];
}

const scrapeToken = randomBytes(24).toString('base64url');

test('metrics: protected, parseable, by tier, and the dashboard asks only for served series', async (t) => {
  const platform = await startTestPlatform(t, { STRATA_METRICS_TOKEN: scrapeToken, STRATA_RATE_LIMIT_PLANS: 'free=40' });
  const app = await testApp(t, platform);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${url}${path}`, { headers });
  let lastText = '';
  const scrape = async (): Promise<Map<string, Family>> => {
    const answer = await get('/metrics', bearer(scrapeToken));
    t.equal(answer.status, 200, 'the scrape token scrapes');
    t.match(answer.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
    lastText = await answer.text();
    const families: Family[] = parsePrometheusTextFormat(lastText);
    return new Map(families.map((f) => [f.name, f]));
  };

  t.test('only a scraper or an admin may read it', async (t) => {
    const tenant = await provision(platform, 'pooled', 'peek');
    const { token } = await userWithToken(platform, tenant, 'owner');
    t.equal((await get('/metrics')).status, 401, 'anonymous');
    t.equal((await get('/metrics', bearer(token))).status, 401, 'a tenant owner');
    t.equal((await get('/metrics', bearer(`${scrapeToken}x`))).status, 401, 'a wrong scrape token');
    t.equal((await get('/metrics', bearer(await adminToken(platform)))).status, 200, 'a platform admin');
  });

  t.test('requests of every tier are counted under their tier; refusals are counted', async (t) => {
    for (const tier of tiers) {
      const tenant = await provision(platform, tier, 'metered');
      const { email, password } = await userWithToken(platform, tenant, 'manager');
      const login = await fetch(`${url}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password }),
      });
      t.equal(login.status, 200, `${tier}: real login`);
      const { accessToken } = (await login.json()) as { accessToken: string };
      for (let i = 0; i < 3; i++) t.equal((await get('/leads', bearer(accessToken))).status, 200);
      if (tier === 'schema') {
        const flood = await Promise.all(Array.from({ length: 45 }, () => get('/leads', bearer(accessToken))));
        t.ok(
          flood.some((r) => r.status === 429),
          'the flood meets the plan limit',
        );
      }
    }
    t.equal((await get('/leads', bearer('not-a-token'))).status, 401);

    const families = await scrape();
    const requests = families.get('strata_http_requests_total')!;
    for (const tier of tiers) {
      const ok = requests.metrics.find((m) => m.labels?.route === '/leads' && m.labels.tier === tier && m.labels.status_class === '2xx');
      t.ok(Number(ok?.value) >= 3, `${tier}: 2xx reads of /leads counted`);
    }
    const histogram = families.get('strata_http_request_duration_seconds')!;
    t.equal(histogram.type, 'HISTOGRAM');
    t.ok(
      histogram.metrics.some((m) => m.buckets && Object.keys(m.buckets).includes('+Inf')),
      'latency has buckets',
    );
    // The parser merges a histogram's labelled series, so its per-tier count is read from the sample line.
    const count = /^strata_http_request_duration_seconds_count\{route="\/leads",method="GET",status_class="2xx",tier="dedicated"\} (\d+)$/m.exec(lastText);
    t.ok(Number(count?.[1]) >= 3, 'latency observed per tier');
    const limited = families.get('strata_rate_limit_rejections_total')!.metrics.find((m) => m.labels?.scope === 'tenant');
    t.ok(Number(limited?.value) >= 1, '429s counted');
    const failures = families.get('strata_auth_failures_total')!.metrics.find((m) => m.labels?.code === 'STRATA_AUTH_UNAUTHENTICATED');
    t.ok(Number(failures?.value) >= 1, 'bad tokens counted');
    const tenants = families.get('strata_tenants')!.metrics;
    for (const tier of tiers) {
      const active = tenants.find((m) => m.labels?.tier === tier && m.labels.status === 'active');
      t.ok(Number(active?.value) >= 1, `${tier}: active tenants counted from the catalog`);
    }
    for (const tier of tiers) {
      const statements = new RegExp(`^strata_router_statement_duration_seconds_count\\{tier="${tier}",kind="statement"\\} (\\d+)$`, 'm').exec(lastText);
      t.ok(Number(statements?.[1]) >= 3, `${tier}: router statements timed under their tier`);
    }
    t.ok(
      families.get('strata_router_connections')!.metrics.some((m) => m.labels?.state === 'idle' && Number(m.value) >= 1),
      'idle connections read at scrape time',
    );
    t.ok(Number(families.get('strata_router_connection_budget')!.metrics[0]!.value) > 0, 'the connection budget');
    t.ok(Number(families.get('strata_router_pools_opened_total')!.metrics[0]!.value) >= 2, 'pools opened (shared and dedicated)');
    const lookups = families.get('strata_catalog_cache_lookups_total')!.metrics;
    t.ok(Number(lookups.find((m) => m.labels?.result === 'hit')?.value) >= 1, 'directory cache hits');
    t.ok(Number(lookups.find((m) => m.labels?.result === 'miss')?.value) >= 1, 'directory cache misses');
    // Without Redis (a bare machine) there is no channel, and the series says so.
    const subscribed = platform.config.redisUrl ? '1' : '0';
    t.equal(
      families.get('strata_catalog_redis_channel')!.metrics.find((m) => m.labels?.state === 'subscribed')?.value,
      subscribed,
      `the Redis channel's state (${subscribed})`,
    );
    t.notOk(
      [...families.keys()].some((name) => /tenant_id|slug/.test(JSON.stringify(families.get(name)!.metrics.map((m) => Object.keys(m.labels ?? {}))))),
      'no series labelled by tenant',
    );
  });

  t.test('the Grafana dashboard references only served series', async (t) => {
    const served = new Set<string>();
    for (const [name, family] of await scrape()) {
      served.add(name);
      if (family.type === 'HISTOGRAM' || family.type === 'SUMMARY') for (const suffix of ['_bucket', '_sum', '_count']) served.add(name + suffix);
    }
    const dashboard = JSON.parse(readFileSync('infra/grafana/strata-dashboard.json', 'utf8')) as { panels: { title: string; targets: { expr: string }[] }[] };
    let selectors = 0;
    for (const panel of dashboard.panels) {
      for (const { expr } of panel.targets) {
        const tree = parser.parse(expr);
        let broken = false;
        tree.iterate({
          enter(node) {
            if (node.type.isError) broken = true;
            if (node.name === 'VectorSelector') {
              const name = node.node.getChild('Identifier') ?? node.node.getChild('MetricName');
              if (!name) return;
              selectors++;
              const metric = expr.slice(name.from, name.to);
              t.ok(served.has(metric), `${panel.title}: ${metric} is served`);
            }
          },
        });
        t.notOk(broken, `${panel.title}: ${expr} parses as PromQL`);
      }
    }
    t.ok(selectors >= dashboard.panels.length, 'every panel selects series');
  });
});
