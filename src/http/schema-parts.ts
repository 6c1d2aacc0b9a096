/** Schema pieces every resource uses. */
import type { FastifySchemaCompiler } from 'fastify';
import { validatorCompiler as zodValidatorCompiler } from 'fastify-type-provider-zod';
import { z } from 'zod';

export const text = () => z.string().trim();

// NUL (PostgreSQL text) and lone surrogates (Prisma) would fail writes as 500s. With the u flag a
// surrogate pair is one code point, not Cs.
const unstorable = (s: string) => /[\0\p{Cs}]/u.test(s);

/** Above any real input's depth; bounds the walk so nesting cannot exhaust the stack. */
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

/** Refuses unstorable strings and deep nesting before the route's own schema. */
export const validatorCompiler: FastifySchemaCompiler<z.ZodType> = (route) => zodValidatorCompiler({ ...route, schema: storable.pipe(route.schema) });

export const pageQuery = {
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional(),
};

/** nextCursor: null on the last page. */
export const pageOf = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), nextCursor: z.string().nullable() });
