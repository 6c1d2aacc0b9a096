/** Tenant record errors; Prisma's codes are translated here. */
import { AppError, problems } from '../http/problems.js';

export class RecordNotFoundError extends AppError {
  constructor(readonly entity: string) {
    super(problems.notFound, `No such ${entity}`);
    this.name = 'RecordNotFoundError';
  }
}

export class VersionConflictError extends AppError {
  constructor(
    readonly entity: string,
    readonly currentVersion: number,
  ) {
    super(problems.versionConflict, `${entity} was changed by someone else (now at version ${currentVersion})`);
    this.name = 'VersionConflictError';
  }
}

export class RecordInUseError extends AppError {
  constructor(readonly entity: string) {
    super(problems.inUse, `This ${entity} is still referenced (e.g. by deals); remove those first`);
    this.name = 'RecordInUseError';
  }
}

export class InvalidReferenceError extends AppError {
  constructor(readonly field: string) {
    super(problems.invalidRequest, 'Some fields are invalid', [{ field: `body.${field}`, message: 'does not name an existing record' }]);
    this.name = 'InvalidReferenceError';
  }
}

/** Foreign keys are (tenant_id, id): another tenant's id fails like an unknown one. */
export function translatePrismaError(err: unknown, entity: string, fieldsByConstraint: Record<string, string> = {}): never {
  const code = (err as { code?: string }).code;
  if (code === 'P2025') throw new RecordNotFoundError(entity);
  if (code === 'P2003') {
    // Via the pg adapter the constraint name is only in the adapter error's cause.
    const meta = (err as { meta?: { constraint?: unknown; driverAdapterError?: { cause?: { constraint?: { index?: unknown } } } } }).meta;
    const constraint = String(meta?.constraint ?? meta?.driverAdapterError?.cause?.constraint?.index ?? '');
    const field = Object.entries(fieldsByConstraint).find(([name]) => constraint.includes(name))?.[1] ?? 'reference';
    throw new InvalidReferenceError(field);
  }
  throw err;
}
