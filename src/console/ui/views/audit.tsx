import { useEffect, useState } from 'preact/hooks';
import { ApiError, get } from '../api.js';
import { Alert } from '../components.js';
import { href } from '../routes.js';
import type { AdminAction, Page } from '../types.js';
import { AuditTable } from './tenant.js';

export function AuditView({ query }: { query: Record<string, string> }) {
  const [items, setItems] = useState<AdminAction[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = async (cursor?: string) => {
    const params = new URLSearchParams({ limit: '50' });
    for (const key of ['action', 'tenantId']) if (query[key]) params.set(key, query[key]!);
    if (cursor) params.set('cursor', cursor);
    try {
      const page = await get<Page<AdminAction>>(`/admin/audit?${params}`);
      setItems((before) => (cursor ? [...before, ...page.items] : page.items));
      setNext(page.nextCursor);
      setError(null);
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    }
  };
  useEffect(() => void load(), [JSON.stringify(query)]);
  const filter = (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    location.hash = href({ page: 'audit', query: { action: String(form.get('action') ?? ''), tenantId: String(form.get('tenantId') ?? '') } });
  };
  return (
    <>
      <h1>Audit trail</h1>
      <form class="filters" role="search" onSubmit={filter}>
        <label>
          Action
          <input name="action" defaultValue={query.action ?? ''} placeholder="e.g. tenant.suspend" />
        </label>
        <label>
          Tenant id
          <input name="tenantId" defaultValue={query.tenantId ?? ''} size={36} />
        </label>
        <button type="submit">Filter</button>
      </form>
      {error && <Alert>{error}</Alert>}
      <AuditTable items={items} />
      {next && (
        <button type="button" class="secondary" onClick={() => load(next)}>
          Load more
        </button>
      )}
    </>
  );
}
