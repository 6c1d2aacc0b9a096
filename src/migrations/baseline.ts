/**
 * One SQL file building a stream's first migrations for targets with no history, recorded as a
 * replay would (test/migrations/baseline.test.ts).
 */
import { readFile } from 'node:fs/promises';
import { byName, isTransactional, type MigrationFolder } from './migration-files.js';

export interface Baseline {
  sql: string;
  /** The stream's first migrations, in order. */
  covers: MigrationFolder[];
}

const header = /^-- strata:baseline (\S+)\s*$/m;

export async function readBaseline(path: string, migrations: MigrationFolder[]): Promise<Baseline | undefined> {
  let sql: string;
  try {
    sql = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return undefined;
    throw err;
  }
  const through = header.exec(sql.split('\n', 1)[0] ?? '')?.[1];
  if (!through) throw new Error(`${path}: the first line must be "-- strata:baseline <last migration it covers>"`);
  const ordered = [...migrations].sort(byName);
  const end = ordered.findIndex((m) => m.name === through);
  if (end === -1) throw new Error(`${path}: covers ${through}, which is not a migration of this stream`);
  const covers = ordered.slice(0, end + 1);
  const blocking = covers.find((m) => !isTransactional(m));
  if (blocking) throw new Error(`${path}: covers ${blocking.name}, which cannot run in a transaction`);
  return { sql, covers };
}

/** It stands for the first pending migrations of a target with no history. */
export function baselineApplies(baseline: Baseline | undefined, history: unknown[], pending: MigrationFolder[]): baseline is Baseline {
  return baseline !== undefined && history.length === 0 && baseline.covers.every((m, i) => pending[i]?.name === m.name && pending[i]?.checksum === m.checksum);
}
