import { useEffect, useState } from 'preact/hooks';
import { ApiError, request, stream } from '../api.js';
import { Alert, Badge } from '../components.js';
import { count, duration } from '../format.js';
import type { Move } from '../types.js';

/** A move's live progress, streamed (GET /admin/moves/:id/events), with Cancel until the switch. */
export function MoveProgress({ initial, onFinished }: { initial: Move; onFinished: () => void }) {
  const [move, setMove] = useState(initial);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const stop = new AbortController();
    stream(
      `/admin/moves/${initial.id}/events`,
      (event) => {
        if (event.event === 'move') setMove(JSON.parse(event.data) as Move);
      },
      stop.signal,
    ).then(onFinished, (e: unknown) => !stop.signal.aborted && setError(e instanceof Error ? e.message : String(e)));
    return () => stop.abort();
  }, [initial.id]);
  const cancel = async () => {
    try {
      setMove(await request<Move>('POST', `/admin/moves/${move.id}/cancel`));
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    }
  };
  const tables = Object.entries(move.tables);
  return (
    <section class="card move" aria-labelledby="move-title">
      <h3 id="move-title">
        Move {move.from.tier} → {move.to.tier}
      </h3>
      <p aria-live="polite" data-testid="move-status">
        Status <Badge value={move.status} /> · phase <strong>{move.phase}</strong>
        {move.percent != null && <> · {move.percent}%</>}
        {move.etaSeconds != null && <> · about {duration(move.etaSeconds)} left</>}
        {move.fenceMs != null && <> · writes paused {move.fenceMs} ms</>}
      </p>
      {move.percent != null && <progress max={100} value={move.percent} aria-label="Move progress" />}
      {tables.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">Table</th>
              <th scope="col">Rows copied</th>
            </tr>
          </thead>
          <tbody>
            {tables.map(([name, t]) => (
              <tr key={name}>
                <th scope="row">{name}</th>
                <td class="num">
                  {count(t.copied)} / {count(t.total)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {move.error && <Alert>{move.error}</Alert>}
      {error && <Alert>{error}</Alert>}
      {move.status === 'running' && !move.cancelRequested && !['flip', 'invalidate', 'cleanup', 'done', 'rollback'].includes(move.phase) && (
        <button type="button" class="danger" onClick={cancel}>
          Cancel move
        </button>
      )}
    </section>
  );
}
