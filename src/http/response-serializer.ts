/**
 * Responses are written by fast-json-stringify, compiled per route from its zod schema (faster:
 * `npm run bench -- http-leads`). Only declared properties are written (a tenantId or password hash
 * never leaks); unlike zod, wrong types are coerced. Schemas JSON Schema cannot express keep zod's.
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
