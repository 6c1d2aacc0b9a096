/** Spare schemas, migrated ahead of time: provisioning renames one instead of running its DDL. */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { escapeIdentifier } from 'pg';
import { applyMigrations, migrationLockKey } from '../migrations/apply-migrations.js';
import type { Baseline } from '../migrations/baseline.js';
import type { MigrationFolder } from '../migrations/migration-files.js';
import type { Log } from '../platform/log.js';
import type { OwnerPools } from '../servers/owner-pools.js';
import type { ServerRecord } from '../servers/server-access.js';

const code = (err: unknown) => (err as { code?: string }).code;

export async function listSpares(client: pg.ClientBase): Promise<string[]> {
  const { rows } = await client.query<{ nspname: string }>(`SELECT nspname FROM pg_namespace WHERE nspname LIKE 'spare\\_%' ORDER BY nspname`);
  return rows.map((r) => r.nspname);
}

/**
 * False when none is left or `schemaName` exists. Skips a spare under its migration lock: renaming
 * it mid-migration would split the runner's work.
 */
export async function claimSpare(client: pg.ClientBase, schemaName: string): Promise<boolean> {
  for (const spare of await listSpares(client)) {
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ free: boolean }>(`SELECT pg_try_advisory_xact_lock(${migrationLockKey(spare)}) AS free`);
      if (!rows[0]!.free) {
        await client.query('ROLLBACK');
        continue;
      }
      await client.query(`ALTER SCHEMA ${escapeIdentifier(spare)} RENAME TO ${escapeIdentifier(schemaName)}`);
      await client.query('COMMIT');
      return true;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      if (code(err) === '3F000') continue; // a concurrent provisioning claimed it first
      // The schema exists (42P06), or a concurrent provisioning of it is committing (23505).
      if (code(err) === '42P06' || code(err) === '23505') return false;
      throw err;
    }
  }
  return false;
}

export class SparePool {
  readonly #filling = new Map<string, Promise<void>>();
  readonly #again = new Set<string>();

  constructor(
    private readonly owners: OwnerPools,
    private readonly migrations: MigrationFolder[],
    private readonly baseline: Baseline | undefined,
    /** Per server; 0 turns the pool off. */
    private readonly size: number,
    private readonly log: Log,
  ) {}

  /** In the background, one per server at once. */
  refill(server: ServerRecord): void {
    if (this.size === 0) return;
    // A claim may take a spare the refill already counted: top up once more after it.
    if (this.#filling.has(server.id)) {
      this.#again.add(server.id);
      return;
    }
    const run = this.#fill(server)
      .catch((err: unknown) => this.log.warn({ err }, 'refilling spare tenant schemas failed'))
      .finally(() => {
        this.#filling.delete(server.id);
        if (this.#again.delete(server.id)) this.refill(server);
      });
    this.#filling.set(server.id, run);
  }

  async settle(): Promise<void> {
    while (this.#filling.size > 0) await Promise.all(this.#filling.values());
  }

  async #fill(server: ServerRecord) {
    await this.owners.with(server, server.tenantsDatabase, async (client) => {
      for (let missing = this.size - (await listSpares(client)).length; missing > 0; missing--) {
        // Published under a name claimSpare matches only once fully migrated.
        const id = randomBytes(8).toString('hex');
        const building = escapeIdentifier(`building_spare_${id}`);
        await client.query(`CREATE SCHEMA ${building}`);
        await applyMigrations(client, {
          schema: `building_spare_${id}`,
          migrations: this.migrations,
          baseline: this.baseline,
          runtimeRole: server.runtimeRole,
        });
        await client.query(`ALTER SCHEMA ${building} RENAME TO ${escapeIdentifier(`spare_${id}`)}`);
      }
    });
  }
}
