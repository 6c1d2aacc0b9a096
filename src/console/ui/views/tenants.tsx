import { useEffect, useState } from 'preact/hooks';
import { Badge, Loading, useApi } from '../components.js';
import { when } from '../format.js';
import { href } from '../routes.js';
import type { Page, TenantRow } from '../types.js';

const filters = {
  tier: ['pooled', 'schema', 'dedicated'],
  status: ['active', 'suspended', 'moving', 'provisioning', 'deleted'],
  plan: ['free', 'starter', 'business', 'enterprise'],
} as const;

/** The list's query string: filters from the URL, keyset cursor from the page stack. */
export function listPath(query: Record<string, string>, cursor: string | undefined): string {
  const params = new URLSearchParams({ limit: '50' });
  for (const key of ['search', 'tier', 'status', 'plan', 'server', 'sort']) if (query[key]) params.set(key, query[key]!);
  if (cursor) params.set('cursor', cursor);
  return `/admin/tenants?${params}`;
}

export function TenantsView({ query }: { query: Record<string, string> }) {
  // Cursors of the pages before this one, for "Previous"; reset when the filters change.
  const [cursors, setCursors] = useState<string[]>([]);
  const [search, setSearch] = useState(query.search ?? '');
  useEffect(() => setCursors([]), [JSON.stringify(query)]);
  const { data, error } = useApi<Page<TenantRow>>(listPath(query, cursors.at(-1)));
  const servers = useApi<{ items: { name: string }[] }>('/admin/servers').data?.items ?? [];
  const go = (change: Record<string, string>) => (location.hash = href({ page: 'tenants', query: { ...query, ...change } }));
  // Searching waits for a pause in typing instead of asking on every key.
  useEffect(() => {
    if (search === (query.search ?? '')) return;
    const timer = setTimeout(() => go({ search }), 250);
    return () => clearTimeout(timer);
  }, [search]);
  const sortBy = query.sort === 'slug' ? 'slug' : 'created';

  return (
    <>
      <h1>Tenants</h1>
      <form class="filters" role="search" onSubmit={(e) => (e.preventDefault(), go({ search }))}>
        <label>
          Search
          <input type="search" name="search" value={search} onInput={(e) => setSearch(e.currentTarget.value)} placeholder="slug or name" />
        </label>
        {Object.entries(filters).map(([key, values]) => (
          <label key={key}>
            {key[0]!.toUpperCase() + key.slice(1)}
            <select name={key} value={query[key] ?? ''} onChange={(e) => go({ [key]: e.currentTarget.value })}>
              <option value="">any</option>
              {values.map((v) => (
                <option key={v}>{v}</option>
              ))}
            </select>
          </label>
        ))}
        <label>
          Server
          <select name="server" value={query.server ?? ''} onChange={(e) => go({ server: e.currentTarget.value })}>
            <option value="">any</option>
            {servers.map((s) => (
              <option key={s.name}>{s.name}</option>
            ))}
          </select>
        </label>
      </form>
      {!data ? (
        <Loading error={error} />
      ) : (
        <>
          <table class="tenants">
            <thead>
              <tr>
                <th scope="col" aria-sort={sortBy === 'slug' ? 'ascending' : 'none'}>
                  <button type="button" class="link" onClick={() => go({ sort: 'slug' })}>
                    Slug
                  </button>
                </th>
                <th scope="col">Name</th>
                <th scope="col">Tier</th>
                <th scope="col">Status</th>
                <th scope="col">Plan</th>
                <th scope="col" aria-sort={sortBy === 'created' ? 'descending' : 'none'}>
                  <button type="button" class="link" onClick={() => go({ sort: '' })}>
                    Created
                  </button>
                </th>
              </tr>
            </thead>
            <tbody>
              {data.items.map((t) => (
                <tr key={t.id}>
                  <th scope="row">
                    <a href={href({ page: 'tenant', id: t.id })}>{t.slug}</a>
                  </th>
                  <td>{t.name}</td>
                  <td>{t.tier}</td>
                  <td>
                    <Badge value={t.status} />
                  </td>
                  <td>{t.plan}</td>
                  <td>{when(t.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {data.items.length === 0 && <p>No tenant matches.</p>}
          <nav class="pager" aria-label="Pages">
            <button type="button" class="secondary" disabled={!cursors.length} onClick={() => setCursors(cursors.slice(0, -1))}>
              Previous
            </button>
            <span>Page {cursors.length + 1}</span>
            <button type="button" class="secondary" disabled={!data.nextCursor} onClick={() => setCursors([...cursors, data.nextCursor!])}>
              Next
            </button>
          </nav>
        </>
      )}
    </>
  );
}
