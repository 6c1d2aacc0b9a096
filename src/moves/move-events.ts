/** A job's view as Server-Sent Events until it ends; polls the catalog, as any instance may run it. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { CatalogClient } from '../catalog/catalog-client.js';
import { toMoveView } from './move-schemas.js';

export interface MoveEventOptions {
  signal: AbortSignal;
  everyMs?: number;
  /** Keeps proxies from closing a quiet stream. */
  keepAliveMs?: number;
}

/** One SSE frame (https://html.spec.whatwg.org/multipage/server-sent-events.html). */
export const sseFrame = (event: string, data: unknown, id?: string) => `${id ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

export async function* moveEvents(catalog: CatalogClient, jobId: string, { signal, everyMs = 500, keepAliveMs = 15_000 }: MoveEventOptions) {
  // EventSource reconnect delay.
  yield `retry: ${everyMs * 4}\n\n`;
  let last = '';
  let quietSince = Date.now();
  while (!signal.aborted) {
    const job = await catalog.tenantMove.findUnique({ where: { id: jobId } });
    if (!job) return;
    const view = toMoveView(job);
    const frame = sseFrame('move', view, String(job.updatedAt.getTime()));
    if (frame !== last) {
      last = frame;
      quietSince = Date.now();
      yield frame;
    } else if (Date.now() - quietSince >= keepAliveMs) {
      quietSince = Date.now();
      yield ': keep-alive\n\n';
    }
    if (view.status !== 'running') return;
    await sleep(everyMs, undefined, { signal }).catch(() => undefined);
  }
}
