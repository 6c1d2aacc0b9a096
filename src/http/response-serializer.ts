/**
 * fast-json-stringify (faster: bench http-leads) writes only declared properties, so no tenantId or
 * password hash leaks; it coerces wrong types. Unrepresentable schemas keep zod's serializer.
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
