import { BarChart, Badge, Loading, useApi } from '../components.js';
import { count } from '../format.js';
import { href } from '../routes.js';
import type { Overview, Tier } from '../types.js';

const tierNames: Tier[] = ['pooled', 'schema', 'dedicated'];

export function OverviewView() {
  const { data, error } = useApi<Overview>('/admin/fleet');
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
          <BarChart label="Requests served by the fleet per UTC day" points={data.requestsPerDay.map((p) => ({ label: p.day, value: p.requests }))} />
        </section>
      </div>
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
                <td>{s.reachable ? <Badge value="up" /> : <span title={s.error ?? ''}><Badge value="down" /></span>}</td>
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
        <h2 id="top">Top tenants by requests (30 days)</h2>
        {data.topTenants.length === 0 ? (
          <p>No requests recorded yet.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">Tenant</th>
                <th scope="col">Tier</th>
                <th scope="col">Plan</th>
                <th scope="col">Today</th>
                <th scope="col">30 days</th>
              </tr>
            </thead>
            <tbody>
              {data.topTenants.map((t) => (
                <tr key={t.id}>
                  <th scope="row">
                    <a href={href({ page: 'tenant', id: t.id })}>{t.slug}</a>
                  </th>
                  <td>{t.tier}</td>
                  <td>{t.plan}</td>
                  <td class="num">{count(t.today)}</td>
                  <td class="num">{count(t.last30Days)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}
