/** Tenant record errors, raised at the data boundary; Prisma's codes are translated here, once. */
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

/** A referenced record does not exist in this tenant. */
export class InvalidReferenceError extends AppError {
  constructor(readonly field: string) {
    super(problems.invalidRequest, 'Some fields are invalid', [{ field: `body.${field}`, message: 'does not name an existing record' }]);
    this.name = 'InvalidReferenceError';
  }
}

/**
 * Foreign keys are (tenant_id, id), so another tenant's id fails exactly like an unknown one:
 * the error names the field, never whether the id exists elsewhere.
 */
export function translatePrismaError(err: unknown, entity: string, fieldsByConstraint: Record<string, string> = {}): never {
  const code = (err as { code?: string }).code;
  if (code === 'P2025') throw new RecordNotFoundError(entity);
  if (code === 'P2003') {
    // Through the pg driver adapter the constraint's name is only in the adapter's cause.
    const meta = (err as { meta?: { constraint?: unknown; driverAdapterError?: { cause?: { constraint?: { index?: unknown } } } } }).meta;
    const constraint = String(meta?.constraint ?? meta?.driverAdapterError?.cause?.constraint?.index ?? '');
    const field = Object.entries(fieldsByConstraint).find(([name]) => constraint.includes(name))?.[1] ?? 'reference';
    throw new InvalidReferenceError(field);
  }
  throw err;
}
