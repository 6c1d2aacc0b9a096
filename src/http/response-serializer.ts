/**
 * Responses are written from the routes' zod schemas by fast-json-stringify, compiled once per
 * route: zod parsing plus JSON.stringify took ~20% of the CPU of a page of leads (`npm run bench --
 * http-leads`).
 *
 * As with zod, only the properties a schema declares are written (its objects have
 * additionalProperties: false), so a field the schema does not name (tenantId, a password hash)
 * never reaches a client, and a missing required property fails the response (a 500). Unlike zod,
 * a value of the wrong type is coerced rather than refused. A schema JSON Schema cannot express
 * keeps zod's serializer.
 */
import fastJson from 'fast-json-stringify';
import type { FastifySerializerCompiler } from 'fastify';
import { serializerCompiler as zodSerializerCompiler } from 'fastify-type-provider-zod';
import { z } from 'zod';

export const responseSerializerCompiler: FastifySerializerCompiler<z.ZodType> = (route) => {
  let jsonSchema: Parameters<typeof fastJson>[0];
  try {
    jsonSchema = z.toJSONSchema(route.schema, { io: 'output', target: 'draft-7', unrepresentable: 'throw' }) as typeof jsonSchema;
  } catch {
    return zodSerializerCompiler(route);
  }
  return fastJson(jsonSchema);
};
