/**
 * Writes shared by the record stores: each commits with its audit record; one that matched nothing
 * is not found (gone or out of scope) or a version conflict.
 */
import { type Actor, platformActor, recordChange } from '../audit/tenant-audit.js';
import type { RecordScope } from '../auth/permissions.js';
import type { TenantClient } from '../router/tenant-router.js';
import { RecordInUseError, RecordNotFoundError, translatePrismaError, VersionConflictError } from './record-errors.js';

export type TenantTransaction = Parameters<Parameters<TenantClient['$transaction']>[0]>[0];

export interface RecordWriter {
  db: TenantClient;
  scope: RecordScope;
  actor: Actor;
  /** Absent: the platform. */
  callerId?: string;
}

/** Scripts and tests: every record, audited as the platform. */
export const platformWriter = (db: TenantClient): RecordWriter => ({ db, scope: { kind: 'all' }, actor: platformActor });

/** The caller if a user here, else null (operator); undefined (column default) for the platform. */
export async function callerAsUser(w: Pick<RecordWriter, 'db' | 'callerId'>): Promise<string | null | undefined> {
  if (w.callerId === undefined) return undefined;
  const user = await w.db.user.findFirst({ where: { id: w.callerId }, select: { id: true } });
  return user?.id ?? null;
}

export interface RecordKind<Where = object> {
  /** In errors and audit actions (`lead` → `lead.update`). */
  entity: string;
  /** Foreign-key constraint (or part of its name) → input field. */
  references?: Record<string, string>;
  /** Prisma `where` of what `scope` sees; absent: all. */
  scope?: (scope: RecordScope) => Where;
  /** Absent: unversioned (last write wins). */
  version?: (db: TenantClient, where: Target<Where>) => PromiseLike<{ version: number } | null>;
}

export type Target<Where> = { AND: [{ id: string; version?: number }, Where] };

export function recordWrites<Where = object>(kind: RecordKind<Where>) {
  const { entity, references = {} } = kind;
  const translate = (err: unknown) => translatePrismaError(err, entity, references);

  const target = (scope: RecordScope, id: string, expectedVersion?: number): Target<Where> => ({
    AND: [{ id, ...(expectedVersion !== undefined && { version: expectedVersion }) }, kind.scope ? kind.scope(scope) : ({} as Where)],
  });

  async function explainMiss(w: RecordWriter, id: string): Promise<never> {
    const current = kind.version && (await kind.version(w.db, target(w.scope, id)));
    if (!current) throw new RecordNotFoundError(entity);
    throw new VersionConflictError(entity, current.version);
  }

  return {
    create<Row extends { id: string }>(
      w: Pick<RecordWriter, 'db' | 'actor'>,
      changes: Record<string, unknown>,
      insert: (tx: TenantTransaction) => PromiseLike<Row>,
    ) {
      return w.db
        .$transaction(async (tx) => {
          const row = await insert(tx);
          await recordChange(tx, w.actor, { entity, entityId: row.id, action: 'create', changes });
          return row;
        })
        .catch(translate);
    },

    async update<Row>(
      w: RecordWriter,
      id: string,
      changes: Record<string, unknown>,
      expectedVersion: number | undefined,
      write: (tx: TenantTransaction, where: Target<Where>) => PromiseLike<Row[]>,
    ): Promise<Row> {
      const row = await w.db
        .$transaction(async (tx) => {
          const [updated] = await write(tx, target(w.scope, id, expectedVersion));
          if (updated) await recordChange(tx, w.actor, { entity, entityId: id, action: 'update', changes });
          return updated;
        })
        .catch(translate);
      return row ?? explainMiss(w, id);
    },

    async remove(
      w: RecordWriter,
      id: string,
      expectedVersion: number | undefined,
      write: (tx: TenantTransaction, where: Target<Where>) => PromiseLike<{ count: number }>,
    ): Promise<void> {
      const { count } = await w.db
        .$transaction(async (tx) => {
          const deleted = await write(tx, target(w.scope, id, expectedVersion));
          if (deleted.count) await recordChange(tx, w.actor, { entity, entityId: id, action: 'delete' });
          return deleted;
        })
        .catch((err: unknown) => {
          // Still referenced (a lead by its deals): the foreign key refuses.
          if ((err as { code?: string }).code === 'P2003') throw new RecordInUseError(entity);
          throw err;
        });
      if (count === 0) await explainMiss(w, id);
    },
  };
}
