/** Opaque keyset cursors, newest first. Strict: a looser form could reach PostgreSQL uncastable. */
import { AppError, problems } from '../http/problems.js';

export class InvalidCursorError extends AppError {
  constructor() {
    super(problems.invalidRequest, 'Some fields are invalid', [{ field: 'querystring.cursor', message: 'cursor is not one this API returned' }]);
    this.message = 'cursor is not one this API returned';
    this.name = 'InvalidCursorError';
  }
}

const cursorPattern = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)\|([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

export function encodeCursor(at: Date, id: string): string {
  return Buffer.from(`${at.toISOString()}|${id}`).toString('base64url');
}

export function decodeCursor(cursor: string): { at: Date; id: string } {
  const match = cursorPattern.exec(Buffer.from(cursor, 'base64url').toString());
  const at = new Date(match?.[1] ?? '');
  // PostgreSQL has no year 0.
  if (!match || Number.isNaN(at.getTime()) || at.getUTCFullYear() < 1) throw new InvalidCursorError();
  return { at, id: match[2]! };
}

/** In (`field` desc, id desc) order; {} for the first page. */
export function after<F extends string>(field: F, cursor: string | undefined) {
  if (cursor === undefined) return {};
  const { at, id } = decodeCursor(cursor);
  return { OR: [{ [field]: { lt: at } }, { [field]: at, id: { lt: id } }] } as { OR: Record<string, unknown>[] };
}

/** `rows`: `limit + 1` fetched. */
export function page<T extends { id: string }>(rows: T[], limit: number, at: (row: T) => Date) {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > limit && last ? encodeCursor(at(last), last.id) : null };
}

/** Ascending by a unique text key (e.g. tenant slug). */
export const textCursor = {
  encode: (key: string) => Buffer.from(`k|${key}`).toString('base64url'),
  decode(cursor: string, valid: RegExp): string {
    const decoded = Buffer.from(cursor, 'base64url').toString();
    if (!decoded.startsWith('k|') || !valid.test(decoded.slice(2))) throw new InvalidCursorError();
    return decoded.slice(2);
  },
};
