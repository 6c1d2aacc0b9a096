/** Migration targets grouped by tier and server, with a count per state (the Migrations view's table). */
export interface TargetLike {
  kind: string;
  server: string;
  state: 'current' | 'pending' | 'failed' | 'refused' | 'unreachable';
}

const kindOrder = ['catalog', 'pooled', 'schema', 'dedicated', 'spare'];

export function groupTargets(targets: TargetLike[]) {
  const groups = new Map<string, { kind: string; server: string; total: number; states: Record<TargetLike['state'], number> }>();
  for (const t of targets) {
    const key = `${t.kind}/${t.server}`;
    const group = groups.get(key) ?? { kind: t.kind, server: t.server, total: 0, states: { current: 0, pending: 0, failed: 0, refused: 0, unreachable: 0 } };
    group.total++;
    group.states[t.state]++;
    groups.set(key, group);
  }
  return [...groups.values()].sort((a, b) => kindOrder.indexOf(a.kind) - kindOrder.indexOf(b.kind) || a.server.localeCompare(b.server));
}
