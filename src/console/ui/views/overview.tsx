import { useState } from 'preact/hooks';
import type { Span } from '../charts.js';
import { BarChart, Badge, Loading, useApi } from '../components.js';
import { count, millis } from '../format.js';
import { href } from '../routes.js';
import type { Move, Overview, Recommendation, Recommendations, Tier, TopTenant } from '../types.js';
import { LoadCharts, SpanPicker } from './load-charts.js';
import { MoveDialog } from './move-dialog.js';
import { MoveProgress } from './move-progress.js';
import { RecommendationList } from './recommendations.js';

const tierNames: Tier[] = ['pooled', 'schema', 'dedicated'];

const rankings = { dbTime: 'database time', requests: 'requests' } as const;

export function OverviewView() {
  const { data, error, reload } = useApi<Overview>('/admin/fleet');
  const advice = useApi<Recommendations>('/admin/recommendations');
  const servers = useApi<{ items: { name: string }[] }>('/admin/servers').data?.items.map((s) => s.name) ?? [];
  const [moving, setMoving] = useState<Recommendation | null>(null);
  const [watching, setWatching] = useState<Move | null>(null);
  const [span, setSpan] = useState<Span>('6h');
  const [by, setBy] = useState<keyof typeof rankings>('dbTime');
  const top = useApi<{ items: TopTenant[] }>(`/admin/usage/top?by=${by}&window=${span}&limit=10`);
  if (!data) return <Loading error={error} />;
  const statuses = [...new Set(data.tenants.map((r) => r.status))].sort();
  const cell = (tier: Tier, status: string) => data.tenants.find((r) => r.tier === tier && r.status === status)?.count ?? 0;
  return (
    <>
      <h1>Fleet overview</h1>
      <div class="cards">
        <section class="card" aria-labelledby="by-tier">
          <h2 id="by-tier">Tenants per tier and status</h2>
          <table>
            <thead>
              <tr>
                <th scope="col">Tier</th>
                {statuses.map((s) => (
                  <th scope="col" key={s}>
                    <a href={href({ page: 'tenants', query: { status: s } })}>{s}</a>
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {tierNames.map((tier) => (
                <tr key={tier}>
                  <th scope="row">
                    <a href={href({ page: 'tenants', query: { tier } })}>{tier}</a>
                  </th>
                  {statuses.map((s) => (
                    <td class="num" key={s}>
                      {count(cell(tier, s))}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
          <p>
            Moves under way: <strong>{data.movesRunning}</strong> · Failed migration targets:{' '}
            <a href={href({ page: 'migrations' })}>
              <strong>{data.failedMigrations}</strong>
            </a>
          </p>
        </section>
        <section class="card" aria-labelledby="requests">
          <h2 id="requests">Requests per day</h2>
          <BarChart title="Requests served by the fleet per UTC day" bars={data.requestsPerDay.map((p) => ({ label: p.day.slice(5), value: p.requests }))} />
        </section>
      </div>
      <section aria-labelledby="advice">
        <h2 id="advice">Recommendations</h2>
        {!advice.data ? (
          <Loading error={advice.error} />
        ) : (
          <RecommendationList items={advice.data.items} onMove={setMoving} empty="No open recommendations: every tenant fits its tier." />
        )}
        {moving?.move && (
          <MoveDialog
            key={moving.tenantId}
            tenant={{ id: moving.tenantId, slug: moving.slug, server: moving.current.server }}
            target={moving.move}
            servers={servers}
            onStarted={setWatching}
            onClose={() => setMoving(null)}
          />
        )}
        {watching && (
          <MoveProgress
            key={watching.id}
            initial={watching}
            onFinished={() => {
              advice.reload();
              reload();
            }}
          />
        )}
      </section>
      <section aria-labelledby="load">
        <div class="section-head">
          <h2 id="load">Fleet load</h2>
          <SpanPicker span={span} onChange={setSpan} />
        </div>
        <LoadCharts path="/admin/usage/fleet" span={span} who="served by the fleet" />
      </section>
      <section aria-labelledby="servers">
        <h2 id="servers">Database servers</h2>
        <table>
          <thead>
            <tr>
              <th scope="col">Server</th>
              <th scope="col">Endpoint</th>
              <th scope="col">Health</th>
              <th scope="col">Connections / max</th>
              <th scope="col">Pooled</th>
              <th scope="col">Schema</th>
              <th scope="col">Dedicated</th>
              <th scope="col">New tenants</th>
            </tr>
          </thead>
          <tbody>
            {data.servers.map((s) => (
              <tr key={s.name}>
                <th scope="row">
                  <a href={href({ page: 'tenants', query: { server: s.name } })}>{s.name}</a>
                </th>
                <td>{`${s.host}:${s.port}`}</td>
                <td>
                  {s.reachable ? (
                    <Badge value="up" />
                  ) : (
                    <span title={s.error ?? ''}>
                      <Badge value="down" />
                    </span>
                  )}
                </td>
                <td class="num">
                  {count(s.connections)} / {count(s.maxConnections)}
                  {s.connections != null && <meter min={0} max={s.maxConnections} value={s.connections} aria-label={`${s.name} connections in use`} />}
                </td>
                <td class="num">{count(s.tenants.pooled)}</td>
                <td class="num">{count(s.tenants.schema)}</td>
                <td class="num">{count(s.tenants.dedicated)}</td>
                <td>{s.acceptsNewTenants ? 'accepting' : <Badge value="cordoned" />}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section aria-labelledby="top">
        <div class="section-head">
          <h2 id="top">{`Top tenants by ${rankings[by]}, last ${span}`}</h2>
          <label class="inline">
            Rank by
            <select value={by} onChange={(e) => setBy((e.currentTarget as HTMLSelectElement).value as keyof typeof rankings)}>
              {Object.entries(rankings).map(([value, name]) => (
                <option key={value} value={value}>
                  {name}
                </option>
              ))}
            </select>
          </label>
        </div>
        {!top.data ? (
          <Loading error={top.error} />
        ) : top.data.items.length === 0 ? (
          <p>No load recorded in this span.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">Tenant</th>
                <th scope="col">Tier</th>
                <th scope="col">Requests</th>
                <th scope="col">Database time</th>
                <th scope="col">Statements</th>
                <th scope="col">Rows written</th>
                <th scope="col">p99</th>
              </tr>
            </thead>
            <tbody>
              {top.data.items.map((t) => (
                <tr key={t.tenantId}>
                  <th scope="row">
                    <a href={href({ page: 'tenant', id: t.tenantId })}>{t.slug}</a>
                  </th>
                  <td>{t.tier}</td>
                  <td class="num">{count(t.requests)}</td>
                  <td class="num">{millis(t.dbTimeMs)}</td>
                  <td class="num">{count(t.statements)}</td>
                  <td class="num">{count(t.rowsWritten)}</td>
                  <td class="num">{t.p99Ms == null ? '—' : `≤ ${t.p99Ms} ms`}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}
