/** Schema pieces every resource uses, defined once. */
import type { FastifySchemaCompiler } from 'fastify';
import { validatorCompiler as zodValidatorCompiler } from 'fastify-type-provider-zod';
import { z } from 'zod';

/** Trimmed text (unstorable characters are refused for every field by `validatorCompiler`). */
export const text = () => z.string().trim();

/**
 * A NUL (PostgreSQL text cannot hold one) or a lone UTF-16 surrogate (JSON allows `"\ud800"`,
 * Prisma's engine refuses it) would fail the write as a 500. With the u flag a paired surrogate is
 * one code point, not Cs.
 */
const unstorable = (s: string) => /[\0\p{Cs}]/u.test(s);

/** Deeper than any API input nests: walking a body nested at any depth could exhaust the stack. */
export const maxInputDepth = 32;

function refuseUnstorable(value: unknown, ctx: z.RefinementCtx, path: PropertyKey[] = []) {
  if (typeof value === 'string') {
    if (unstorable(value)) ctx.addIssue({ code: 'custom', path, message: 'must not contain NUL characters or unpaired UTF-16 surrogates' });
  } else if (typeof value === 'object' && value !== null) {
    if (path.length >= maxInputDepth) {
      ctx.addIssue({ code: 'custom', path, message: `nests too deeply (at most ${maxInputDepth} levels)` });
      return;
    }
    for (const [key, member] of Object.entries(value)) {
      if (unstorable(key)) ctx.addIssue({ code: 'custom', path, message: 'member names must not contain NUL characters or unpaired UTF-16 surrogates' });
      else refuseUnstorable(member, ctx, [...path, key]);
    }
  }
}

const storable = z.unknown().superRefine((value, ctx) => refuseUnstorable(value, ctx));

/** Every route's input is checked for unstorable strings and depth before its own schema runs. */
export const validatorCompiler: FastifySchemaCompiler<z.ZodType> = (route) => zodValidatorCompiler({ ...route, schema: storable.pipe(route.schema) });

/** The paging part of every list query: a capped page size and an opaque keyset cursor. */
export const pageQuery = {
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional(),
};

/** A page of `item`s and the cursor of the next one (null on the last page). */
export const pageOf = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), nextCursor: z.string().nullable() });
