/**
 * A move job's progress as Server-Sent Events: the job's view (move-schemas.ts) each time it
 * changes, then the stream ends once the job has finished. The job row in the catalog is the one
 * source of truth, written by whichever instance runs the job, so the stream reads that row (by
 * key, every `everyMs`) rather than listening to the runner of this process.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { CatalogClient } from '../catalog/catalog-client.js';
import { toMoveView } from './move-schemas.js';

export interface MoveEventOptions {
  signal: AbortSignal;
  /** How often the job row is read. */
  everyMs?: number;
  /** A comment line this often keeps proxies from closing a quiet stream. */
  keepAliveMs?: number;
}

/** One SSE frame (https://html.spec.whatwg.org/multipage/server-sent-events.html). */
export const sseFrame = (event: string, data: unknown, id?: string) => `${id ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

/** Frames of the job `jobId` (which exists) until it finishes or `signal` aborts. */
export async function* moveEvents(catalog: CatalogClient, jobId: string, { signal, everyMs = 500, keepAliveMs = 15_000 }: MoveEventOptions) {
  // Tells EventSource-style clients how long to wait before reconnecting.
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
