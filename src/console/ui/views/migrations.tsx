import { Badge, Loading, useApi } from '../components.js';
import type { MigrationTarget } from '../types.js';
import { groupTargets } from '../migration-groups.js';

export function MigrationsView() {
  const { data, error } = useApi<{ items: MigrationTarget[] }>('/admin/migrations');
  if (!data) return <Loading error={error} />;
  const groups = groupTargets(data.items);
  const attention = data.items.filter((t) => t.state !== 'current');
  return (
    <>
      <h1>Migrations</h1>
      <table>
        <thead>
          <tr>
            <th scope="col">Tier</th>
            <th scope="col">Server</th>
            <th scope="col">Targets</th>
            <th scope="col">Current</th>
            <th scope="col">Pending</th>
            <th scope="col">Failed</th>
            <th scope="col">Refused</th>
            <th scope="col">Unreachable</th>
          </tr>
        </thead>
        <tbody>
          {groups.map((g) => (
            <tr key={`${g.kind}/${g.server}`}>
              <th scope="row">{g.kind}</th>
              <td>{g.server}</td>
              <td class="num">{g.total}</td>
              {(['current', 'pending', 'failed', 'refused', 'unreachable'] as const).map((s) => (
                <td class={`num ${g.states[s] && s !== 'current' ? 'warn' : ''}`} key={s}>
                  {g.states[s]}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Targets needing attention</h2>
      {attention.length === 0 ? (
        <p>Every target is current.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Target</th>
              <th scope="col">State</th>
              <th scope="col">Last applied</th>
              <th scope="col">Pending</th>
              <th scope="col">Error</th>
            </tr>
          </thead>
          <tbody>
            {attention.map((t) => (
              <tr key={t.target}>
                <th scope="row">{t.target}</th>
                <td>
                  <Badge value={t.state} />
                </td>
                <td>{t.lastApplied ?? '—'}</td>
                <td>{t.pending.join(', ') || '—'}</td>
                <td>{t.error ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
