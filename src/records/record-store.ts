/**
 * The writes every record store repeats, stated once: a change commits together with its audit
 * record, Prisma's errors are translated here, and a write that matched nothing is explained as
 * not found (gone, or outside the caller's scope) or, for a versioned record, a version conflict.
 * Stores keep their own queries and hand these helpers the Prisma call.
 */
import { type Actor, platformActor, recordChange } from '../audit/tenant-audit.js';
import type { RecordScope } from '../auth/permissions.js';
import type { TenantClient } from '../router/tenant-router.js';
import { RecordInUseError, RecordNotFoundError, translatePrismaError, VersionConflictError } from './record-errors.js';

/** The client a tenant transaction's callback is given. */
export type TenantTransaction = Parameters<Parameters<TenantClient['$transaction']>[0]>[0];

/** Who writes, and where: what every store write takes besides its own arguments. */
export interface RecordWriter {
  db: TenantClient;
  /** The records the writer may touch; one outside it is not found. */
  scope: RecordScope;
  actor: Actor;
  /** The token's subject on a tenant request; absent for the platform. */
  callerId?: string;
}

/** A script's or a test's writer: every record, audited as the platform. */
export const platformWriter = (db: TenantClient): RecordWriter => ({ db, scope: { kind: 'all' }, actor: platformActor });

/**
 * Who owns (or wrote) a new record whose input names nobody: the caller when a user of this
 * tenant, else nobody (null; an operator's token names no user). Undefined for the platform: the
 * column's default.
 */
export async function callerAsUser(w: Pick<RecordWriter, 'db' | 'callerId'>): Promise<string | null | undefined> {
  if (w.callerId === undefined) return undefined;
  const user = await w.db.user.findFirst({ where: { id: w.callerId }, select: { id: true } });
  return user?.id ?? null;
}

export interface RecordKind<Where = object> {
  /** Names the record in errors and in the audit trail (`lead` → `lead.update`). */
  entity: string;
  /** Foreign-key constraint (or a part of its name) → the input field it checks. */
  references?: Record<string, string>;
  /** Prisma `where` of the records `scope` sees; absent: all of the tenant's. */
  scope?: (scope: RecordScope) => Where;
  /** The version of the record `where` names; absent: the records carry no version (last write wins). */
  version?: (db: TenantClient, where: Target<Where>) => PromiseLike<{ version: number } | null>;
}

/** One record in scope, at `version` when given. */
export type Target<Where> = { AND: [{ id: string; version?: number }, Where] };

/** The shared writes of one record kind. */
export function recordWrites<Where = object>(kind: RecordKind<Where>) {
  const { entity, references = {} } = kind;
  const translate = (err: unknown) => translatePrismaError(err, entity, references);

  const target = (scope: RecordScope, id: string, expectedVersion?: number): Target<Where> => ({
    AND: [{ id, ...(expectedVersion !== undefined && { version: expectedVersion }) }, kind.scope ? kind.scope(scope) : ({} as Where)],
  });

  /** A write matched nothing: the record is gone (or out of scope), or it moved past the expected version. */
  async function explainMiss(w: RecordWriter, id: string): Promise<never> {
    const current = kind.version && (await kind.version(w.db, target(w.scope, id)));
    if (!current) throw new RecordNotFoundError(entity);
    throw new VersionConflictError(entity, current.version);
  }

  return {
    /** Inserts a record (`insert`) and its audit record (`changes`) in one transaction. */
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

    /** Applies `write` to the record if in scope and at `expectedVersion` (when given), with its audit record. */
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

    /** Deletes the record (`write`) if in scope and at `expectedVersion` (when given), with its audit record. */
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
          // Still referenced (a lead by its deals): the foreign key refuses, and the caller is told why.
          if ((err as { code?: string }).code === 'P2003') throw new RecordInUseError(entity);
          throw err;
        });
      if (count === 0) await explainMiss(w, id);
    },
  };
}
