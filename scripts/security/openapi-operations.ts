/** The operations the server documents at /docs/json, with concrete paths to call them on. */
import { randomUUID } from 'node:crypto';
import type { AttackContext } from './attack-context.js';
import { must } from './fixtures.js';

export const httpMethods = ['get', 'post', 'put', 'patch', 'delete'] as const;

export interface Operation {
  method: string;
  /** As documented, e.g. `/leads/{id}`. */
  template: string;
  /** With every parameter filled in (`values`, or a fresh uuid). */
  path: string;
  /** Whether the document says it needs a bearer token. */
  secured: boolean;
}

export async function openapiOperations(ctx: AttackContext, values: Record<string, string> = {}): Promise<Operation[]> {
  const res = await ctx.send('GET', '/docs/json');
  const document = must('GET /docs/json', res.status, 200, res.body) as { paths: Record<string, Record<string, { security?: unknown[] }>> };
  return Object.entries(document.paths).flatMap(([template, item]) =>
    httpMethods
      .filter((method) => item[method])
      .map((method) => ({
        method: method.toUpperCase(),
        template,
        path: template.replace(/\{(\w+)\}/g, (_, name: string) => values[name] ?? randomUUID()),
        secured: (item[method]!.security ?? []).length > 0,
      })),
  );
}
