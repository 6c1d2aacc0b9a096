/** Schema pieces every resource uses, defined once. */
import { z } from 'zod';

/** Trimmed text. PostgreSQL text cannot hold NUL: refused here, or the write would fail as a 500. */
export const text = () => z.string().trim().refine((s) => !s.includes('\0'), 'must not contain NUL characters');

/** The paging part of every list query: a capped page size and an opaque keyset cursor. */
export const pageQuery = {
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional(),
};

/** A page of `item`s and the cursor of the next one (null on the last page). */
export const pageOf = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), nextCursor: z.string().nullable() });
