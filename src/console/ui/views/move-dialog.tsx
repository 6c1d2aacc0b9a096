import { useEffect, useRef, useState } from 'preact/hooks';
import { request } from '../api.js';
import { Alert } from '../components.js';
import type { Move, Tier } from '../types.js';

const tiers: Tier[] = ['pooled', 'schema', 'dedicated'];

/** What the dialog opens with: a tier and a server ('' = the tenant's current one). */
export interface MoveTarget {
  targetTier: Tier;
  targetServer: string;
}

/**
 * The move dialog, open while mounted (native <dialog>: takes the focus, closes on Esc). Opened from
 * a tenant's Move button or prefilled from a recommendation; either way it starts the move through
 * POST /admin/tenants/:id/moves and hands the job to the caller, who shows its live progress.
 */
export function MoveDialog(props: {
  tenant: { id: string; slug: string; server: string };
  target: MoveTarget;
  servers: string[];
  onStarted: (job: Move) => void;
  onClose: () => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    dialog.current?.showModal();
  }, []);
  const { target } = props;
  // Options are preselected (`selected`), not a controlled `value`: a re-render (an error shown) keeps the operator's choice.
  // The recommended server is offered even before (or without) the server list.
  const servers = [...new Set([...props.servers, ...(target.targetServer ? [target.targetServer] : [])])];
  const submit = async (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const server = String(form.get('server'));
    try {
      const job = await request<Move>('POST', `/admin/tenants/${props.tenant.id}/moves`, {
        targetTier: String(form.get('tier')),
        ...(server && { targetServer: server }),
      });
      dialog.current?.close();
      props.onStarted(job);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  return (
    <dialog ref={dialog} aria-labelledby="move-dialog-title" onClose={props.onClose}>
      <form onSubmit={submit}>
        <h2 id="move-dialog-title">{`Move ${props.tenant.slug}`}</h2>
        <label>
          Target tier
          <select name="tier">
            {tiers.map((x) => (
              <option key={x} selected={x === target.targetTier}>
                {x}
              </option>
            ))}
          </select>
        </label>
        <label>
          Target server
          <select name="server">
            <option value="" selected={!target.targetServer}>{`current (${props.tenant.server})`}</option>
            {servers.map((s) => (
              <option key={s} selected={s === target.targetServer}>
                {s}
              </option>
            ))}
          </select>
        </label>
        {error && <Alert>{error}</Alert>}
        <div class="actions">
          <button type="button" class="secondary" onClick={() => dialog.current?.close()}>
            Close
          </button>
          <button type="submit">Start move</button>
        </div>
      </form>
    </dialog>
  );
}
