import type { ComponentChildren } from 'preact';
import { useRef, useState } from 'preact/hooks';
import { ApiError, download, request } from '../api.js';
import { Alert, Badge, Loading, useApi } from '../components.js';
import { bytes, count, when } from '../format.js';
import { href } from '../routes.js';
import type { Span } from '../charts.js';
import type { AdminAction, Move, Page, Recommendations, TenantAuditEvent, TenantDetail, Tier } from '../types.js';
import { ConfigEditor } from './config-editor.js';
import { LoadCharts, SpanPicker } from './load-charts.js';
import { MoveDialog, type MoveTarget } from './move-dialog.js';
import { MoveProgress } from './move-progress.js';
import { RecommendationList } from './recommendations.js';

const plans = ['free', 'starter', 'business', 'enterprise'];
const tiers: Tier[] = ['pooled', 'schema', 'dedicated'];

/** A modal asking for what an action needs (a reason, a typed slug); native <dialog> traps focus and closes on Esc. */
function Confirm(props: {
  id: string;
  title: string;
  children: ComponentChildren;
  confirm: string;
  danger?: boolean;
  onConfirm: (form: FormData) => Promise<void>;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [error, setError] = useState<string | null>(null);
  const submit = async (event: Event) => {
    event.preventDefault();
    try {
      await props.onConfirm(new FormData(event.currentTarget as HTMLFormElement));
      dialog.current?.close();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  // One element, not a fragment: Preact 11 misplaces a fragment's nodes among siblings whose slot changes type (Suspend ⇄ Reactivate).
  return (
    <span class="confirm">
      <button type="button" class={props.danger ? 'danger' : 'secondary'} onClick={() => (setError(null), dialog.current?.showModal())}>
        {props.title}
      </button>
      <dialog ref={dialog} aria-labelledby={`${props.id}-title`}>
        <form onSubmit={submit}>
          <h2 id={`${props.id}-title`}>{props.title}</h2>
          {props.children}
          {error && <Alert>{error}</Alert>}
          <div class="actions">
            <button type="button" class="secondary" onClick={() => dialog.current?.close()}>
              Close
            </button>
            <button type="submit" class={props.danger ? 'danger' : ''}>
              {props.confirm}
            </button>
          </div>
        </form>
      </dialog>
    </span>
  );
}

export function TenantView({ id }: { id: string }) {
  const tenant = useApi<TenantDetail>(`/admin/tenants/${id}`);
  const moves = useApi<{ items: Move[] }>(`/admin/tenants/${id}/moves`);
  const trail = useApi<Page<AdminAction>>(`/admin/audit?tenantId=${id}&limit=20`);
  const ownTrail = useApi<Page<TenantAuditEvent>>(`/admin/tenants/${id}/audit?limit=20`);
  const [span, setSpan] = useState<Span>('6h');
  const servers = useApi<{ items: { name: string }[] }>('/admin/servers').data?.items.map((s) => s.name) ?? [];
  const advice = useApi<Recommendations>('/admin/recommendations');
  const [moving, setMoving] = useState<MoveTarget | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [watching, setWatching] = useState<Move | null>(null);
  const refresh = () => {
    tenant.reload();
    moves.reload();
    trail.reload();
    ownTrail.reload();
    advice.reload();
  };
  const act = async (what: () => Promise<unknown>, done: string) => {
    setFailure(null);
    await what();
    setNotice(done);
    refresh();
  };
  const t = tenant.data;
  if (!t) return <Loading error={tenant.error} />;
  const running = watching ?? moves.data?.items.find((m) => m.status === 'running') ?? null;

  return (
    <>
      <p>
        <a href={href({ page: 'tenants', query: {} })}>← Tenants</a>
      </p>
      <h1>
        {t.name} <Badge value={t.status} />
      </h1>
      {notice && <Alert kind="info">{notice}</Alert>}
      {failure && <Alert>{failure}</Alert>}
      {t.suspension && <Alert kind="info">{`Suspended ${when(t.suspension.at)}: ${t.suspension.reason}`}</Alert>}
      <div class="cards">
        <section class="card" aria-labelledby="placement">
          <h2 id="placement">Placement</h2>
          <dl>
            <dt>Slug</dt>
            <dd>{t.slug}</dd>
            <dt>Tier</dt>
            <dd>{t.tier}</dd>
            <dt>Server</dt>
            <dd>{`${t.placement.server} (${t.placement.host}:${t.placement.port})`}</dd>
            <dt>Database / schema</dt>
            <dd>{`${t.placement.database} / ${t.placement.schema}`}</dd>
            <dt>Plan</dt>
            <dd>{t.plan}</dd>
            <dt>Version</dt>
            <dd>{t.version}</dd>
            <dt>Created</dt>
            <dd>{when(t.createdAt)}</dd>
          </dl>
        </section>
        <section class="card" aria-labelledby="usage">
          <h2 id="usage">Usage</h2>
          <dl>
            <dt>Users</dt>
            <dd>{count(t.usage.rows.users)}</dd>
            <dt>Requests today / 30 days</dt>
            <dd>{`${count(t.usage.requests.today)} / ${count(t.usage.requests.last30Days)}`}</dd>
            <dt>Storage</dt>
            <dd>{bytes(t.usage.storageBytes)}</dd>
            {Object.entries(t.usage.rows)
              .filter(([table]) => table !== 'users')
              .map(([table, n]) => (
                <>
                  <dt key={`${table}-t`}>{table}</dt>
                  <dd key={`${table}-n`}>{count(n)} rows</dd>
                </>
              ))}
          </dl>
        </section>
        <section class="card" aria-labelledby="actions">
          <h2 id="actions">Actions</h2>
          <div class="actions wrap">
            {t.status === 'suspended' ? (
              <button
                type="button"
                onClick={() => act(() => request('POST', `/admin/tenants/${id}/reactivate`), 'Tenant reactivated.').catch((e: Error) => setFailure(e.message))}
              >
                Reactivate
              </button>
            ) : (
              <Confirm
                id="suspend"
                title="Suspend"
                confirm="Suspend tenant"
                onConfirm={(f) => act(() => request('POST', `/admin/tenants/${id}/suspend`, { reason: String(f.get('reason')) }), 'Tenant suspended.')}
              >
                <label>
                  Reason (required)
                  <input name="reason" required maxLength={500} />
                </label>
              </Confirm>
            )}
            <Confirm
              id="plan"
              title="Change plan"
              confirm="Change plan"
              onConfirm={(f) => act(() => request('PATCH', `/admin/tenants/${id}`, { plan: String(f.get('plan')) }), 'Plan changed.')}
            >
              <label>
                Plan
                <select name="plan" defaultValue={t.plan}>
                  {plans.map((p) => (
                    <option key={p}>{p}</option>
                  ))}
                </select>
              </label>
            </Confirm>
            <button
              type="button"
              class="secondary"
              onClick={() =>
                download(`/admin/tenants/${id}/export`).then(
                  (name) => setNotice(`Exported ${name}.`),
                  (e: Error) => setFailure(e.message),
                )
              }
            >
              Export
            </button>
            <button type="button" class="secondary" onClick={() => setMoving({ targetTier: tiers.find((x) => x !== t.tier)!, targetServer: '' })}>
              Move
            </button>
            {t.status !== 'deleted' ? (
              <Confirm
                id="delete"
                title="Delete"
                danger
                confirm="Delete tenant"
                onConfirm={() => act(() => request('DELETE', `/admin/tenants/${id}`), 'Tenant deleted (its data is kept until purged).')}
              >
                <p>Its users are refused from now on; the data stays until a purge.</p>
              </Confirm>
            ) : (
              <Confirm
                id="purge"
                title="Purge"
                danger
                confirm="Purge for good"
                onConfirm={async (f) => {
                  if (f.get('slug') !== t.slug) throw new ApiError(400, undefined, `Type ${t.slug} to confirm`);
                  const done = await request<{ archive: string }>('POST', `/admin/tenants/${id}/purge`);
                  setNotice(`Purged; archive ${done.archive}.`);
                  location.hash = href({ page: 'tenants', query: {} });
                }}
              >
                <label>
                  Type the slug <code>{t.slug}</code> to confirm
                  <input name="slug" autoComplete="off" required />
                </label>
              </Confirm>
            )}
          </div>
        </section>
      </div>
      {moving && (
        <MoveDialog
          tenant={{ id, slug: t.slug, server: t.placement.server }}
          target={moving}
          servers={servers}
          onStarted={setWatching}
          onClose={() => setMoving(null)}
        />
      )}
      <section aria-labelledby="advice">
        <h2 id="advice">Recommendation</h2>
        {!advice.data ? (
          <Loading error={advice.error} />
        ) : (
          <RecommendationList
            items={advice.data.items.filter((r) => r.tenantId === id)}
            onMove={(r) => r.move && setMoving(r.move)}
            empty="None: this tenant fits its tier."
          />
        )}
      </section>
      {running && <MoveProgress key={running.id} initial={running} onFinished={refresh} />}
      <section aria-labelledby="load">
        <div class="section-head">
          <h2 id="load">Load</h2>
          <SpanPicker span={span} onChange={setSpan} />
        </div>
        <LoadCharts path={`/admin/tenants/${id}/usage`} span={span} who={`served for ${t.slug}`} />
      </section>
      <ConfigEditor key={`${t.id}-${t.version}`} tenantId={id} config={t.config} onSaved={refresh} />
      <section aria-labelledby="history">
        <h2 id="history">Move history</h2>
        {!moves.data?.items.length ? (
          <p>No moves.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">Started</th>
                <th scope="col">From → to</th>
                <th scope="col">Status</th>
                <th scope="col">Fence</th>
                <th scope="col">Finished</th>
              </tr>
            </thead>
            <tbody>
              {moves.data.items.map((m) => (
                <tr key={m.id}>
                  <td>{when(m.createdAt)}</td>
                  <td>{`${m.from.tier} → ${m.to.tier}`}</td>
                  <td>
                    <Badge value={m.status} />
                  </td>
                  <td>{m.fenceMs == null ? '—' : `${m.fenceMs} ms`}</td>
                  <td>{when(m.finishedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <div class="trails">
        <section aria-labelledby="trail">
          <h2 id="trail">Admin trail</h2>
          <AuditTable items={trail.data?.items ?? []} tenantColumn={false} />
          <p>
            <a href={href({ page: 'audit', query: { tenantId: id } })}>Full admin trail</a>
          </p>
        </section>
        <section aria-labelledby="own-trail">
          <h2 id="own-trail">Tenant trail</h2>
          {ownTrail.data ? <TenantTrail items={ownTrail.data.items} /> : <Loading error={ownTrail.error} />}
        </section>
      </div>
    </>
  );
}

/** The tenant's own changes (its users and the platform acting on its records), newest first. */
function TenantTrail({ items }: { items: TenantAuditEvent[] }) {
  if (!items.length) return <p>No entries.</p>;
  return (
    <table class="audit">
      <thead>
        <tr>
          <th scope="col">When</th>
          <th scope="col">Action</th>
          <th scope="col">By</th>
          <th scope="col">Changes</th>
        </tr>
      </thead>
      <tbody>
        {items.map((e) => (
          <tr key={e.id}>
            <td>{when(e.at)}</td>
            <td>
              <code>{e.action}</code>
            </td>
            <td>{e.actorId ? <code>{e.actorId.slice(0, 8)}</code> : 'platform'}</td>
            <td class="details">{JSON.stringify(e.changes)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function AuditTable({ items, tenantColumn = true }: { items: AdminAction[]; tenantColumn?: boolean }) {
  if (!items.length) return <p>No entries.</p>;
  return (
    <table class="audit">
      <thead>
        <tr>
          <th scope="col">When</th>
          <th scope="col">Action</th>
          {tenantColumn && <th scope="col">Tenant</th>}
          <th scope="col">Details</th>
        </tr>
      </thead>
      <tbody>
        {items.map((e) => (
          <tr key={e.id}>
            <td>{when(e.at)}</td>
            <td>
              <code>{e.action}</code>
            </td>
            {tenantColumn && <td>{e.tenantId ? <a href={href({ page: 'tenant', id: e.tenantId })}>{e.tenantId.slice(0, 8)}</a> : '—'}</td>}
            <td class="details">{JSON.stringify(e.details)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
