/** Tenant tables from pg_catalog, not the Prisma schema: exactly what a location holds. */
import type pg from 'pg';

export interface TenantTable {
  name: string;
  /** Stored columns only, in table order. */
  columns: string[];
  primaryKey: string[];
}

/** Every tenant table has it (test/catalog/rls-invariants.test.ts); transfers never copy it. */
export const tenantColumn = 'tenant_id';

const bookkeeping = '\\_strata\\_%';

/** Never archived, so a clone or restore cannot be entered with the source's tokens; moves keep them. */
const sessionTables = new Set(['refresh_tokens']);
export const isSessionTable = (name: string) => sessionTables.has(name);

export function dataColumns(table: TenantTable): string[] {
  return table.columns.filter((c) => c !== tenantColumn);
}

/** Each table after those it references (reverse to delete); ties by name, so order is stable. */
export async function tenantTables(client: pg.ClientBase, schema: string): Promise<TenantTable[]> {
  const { rows } = await client.query<{ name: string; columns: string[]; primary_key: string[] | null; references: string[] }>(
    `SELECT c.relname AS name,
            array(SELECT a.attname::text FROM pg_attribute a
                   WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
                   ORDER BY a.attnum) AS columns,
            (SELECT array_agg(a.attname::text ORDER BY k.ord)
               FROM pg_index i
               CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
              WHERE i.indrelid = c.oid AND i.indisprimary) AS primary_key,
            array(SELECT DISTINCT r.relname::text FROM pg_constraint f JOIN pg_class r ON r.oid = f.confrelid
                   WHERE f.conrelid = c.oid AND f.contype = 'f' AND r.relnamespace = c.relnamespace AND r.oid <> c.oid)
              AS references
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relname NOT LIKE $2
      ORDER BY c.relname`,
    [schema, bookkeeping],
  );
  const byName = new Map(rows.map((r) => [r.name, r]));
  const ordered: TenantTable[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string) => {
    const row = byName.get(name);
    if (!row || state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') throw new Error(`tenant tables in ${schema} reference each other in a cycle through ${name}`);
    state.set(name, 'visiting');
    for (const ref of row.references) visit(ref);
    state.set(name, 'done');
    ordered.push({ name, columns: row.columns, primaryKey: row.primary_key ?? [] });
  };
  for (const row of rows) visit(row.name);
  return ordered;
}
