/**
 * A tenant user writing leads through the real HTTP API (create, rename, delete with If-Match) and
 * keeping a ledger of every acknowledged write. A refusal that says nothing ran (503 moving/busy)
 * is retried; any other failure (5xx, a dropped connection) is ambiguous: a rename or delete is
 * reconciled by reading the lead back, a create's name is remembered as "maybe there once".
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

/** Refusals that happen before anything is written. */
const notRun = new Set(['STRATA_TENANT_MOVING', 'STRATA_TENANT_BUSY', 'STRATA_TENANT_DATABASE_TIME']);

export interface Ledger {
  /** Lead id → name as last acknowledged (or read back). */
  leads: Map<string, string>;
  /** Ids whose delete was acknowledged: they must never come back. */
  deleted: Set<string>;
  /** Names of creates with no answer: each may exist at most once. */
  maybe: Set<string>;
  /** The prefix of every name this writer uses. */
  prefix: string;
  writes: number;
  retried: number;
  ambiguous: number;
}

export interface HttpWriter {
  stop(): Promise<Ledger>;
}

export function startHttpWriter(base: string, token: string, options: { pauseMs?: number } = {}): HttpWriter {
  const ledger: Ledger = {
    leads: new Map(),
    deleted: new Set(),
    maybe: new Set(),
    prefix: `w${randomBytes(3).toString('hex')}`,
    writes: 0,
    retried: 0,
    ambiguous: 0,
  };
  const etags = new Map<string, string>();
  let running = true;
  const call = async (method: string, path: string, body?: unknown, ifMatch?: string) => {
    try {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body !== undefined && { 'content-type': 'application/json' }),
          ...(ifMatch && { 'if-match': ifMatch }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
      const text = await res.text();
      return { status: res.status, etag: res.headers.get('etag') ?? undefined, body: text ? (JSON.parse(text) as Record<string, unknown>) : null };
    } catch {
      return { status: 0, etag: undefined, body: null };
    }
  };
  /** Sends until the answer is not a clean refusal. */
  const send = async (method: string, path: string, body?: unknown, ifMatch?: () => string | undefined) => {
    for (;;) {
      const res = await call(method, path, body, ifMatch?.());
      if (res.status !== 503 || !notRun.has(String(res.body?.code))) return res;
      ledger.retried++;
      await sleep(20);
    }
  };
  /** The lead as the API has it now: its name, or null once it is gone. */
  const readBack = async (id: string): Promise<string | null> => {
    for (;;) {
      const res = await call('GET', `/leads/${id}`);
      if (res.status === 200) {
        etags.set(id, res.etag!);
        return String(res.body!.name);
      }
      if (res.status === 404) return null;
      await sleep(100);
    }
  };
  const settle = (id: string, name: string | null) => {
    if (name === null) {
      ledger.leads.delete(id);
      ledger.deleted.add(id);
      etags.delete(id);
    } else ledger.leads.set(id, name);
  };
  const loop = (async () => {
    for (let n = 0; running; n++) {
      const ids = [...ledger.leads.keys()];
      const pick = ids[Math.floor(Math.random() * ids.length)];
      if (n % 4 === 3 && pick) {
        const res = await send('DELETE', `/leads/${pick}`, undefined, () => etags.get(pick));
        if (res.status === 204) settle(pick, null);
        else {
          ledger.ambiguous++;
          settle(pick, await readBack(pick));
        }
      } else if (n % 4 === 2 && pick) {
        const name = `${ledger.prefix} renamed ${n}`;
        const res = await send('PATCH', `/leads/${pick}`, { name }, () => etags.get(pick));
        if (res.status === 200) {
          etags.set(pick, res.etag!);
          settle(pick, name);
        } else {
          ledger.ambiguous++;
          settle(pick, await readBack(pick));
        }
      } else {
        const name = `${ledger.prefix} lead ${n}`;
        const res = await send('POST', '/leads', { name });
        if (res.status === 201) {
          etags.set(String(res.body!.id), res.etag!);
          settle(String(res.body!.id), name);
        } else {
          ledger.ambiguous++;
          ledger.maybe.add(name);
        }
      }
      ledger.writes++;
      if (options.pauseMs) await sleep(options.pauseMs);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return ledger;
    },
  };
}

export interface LedgerCheck {
  acknowledged: number;
  lost: number;
  resurrected: number;
  duplicated: number;
  wrong: number;
}

/** Compares the ledger with the tenant's leads as they are (id, name), every row of the writer's. */
export function checkLedger(ledger: Ledger, rows: { id: string; name: string }[]): LedgerCheck {
  const mine = rows.filter((r) => r.name.startsWith(`${ledger.prefix} `));
  const byId = new Map(mine.map((r) => [r.id, r.name]));
  const names = new Map<string, number>();
  for (const r of mine) names.set(r.name, (names.get(r.name) ?? 0) + 1);
  let lost = 0;
  let wrong = 0;
  for (const [id, name] of ledger.leads) {
    if (!byId.has(id)) lost++;
    else if (byId.get(id) !== name) wrong++;
  }
  const resurrected = [...ledger.deleted].filter((id) => byId.has(id)).length;
  // A row no acknowledged write explains is wrong too (unless an unanswered create made it).
  wrong += mine.filter((r) => !ledger.leads.has(r.id) && !ledger.deleted.has(r.id) && !ledger.maybe.has(r.name)).length;
  // Every name the writer sends is new, so a name on two rows is a write applied twice.
  const duplicated = [...names.values()].filter((count) => count > 1).length;
  return { acknowledged: ledger.writes - ledger.ambiguous, lost, resurrected, duplicated, wrong };
}
