/**
 * Every `METHOD /path` Fastify serves with its onRequest hooks' names, read from printRoutes' tree.
 * Each node line continues its parent's path (`├── /leads (GET, HEAD, POST)`, `│   └── /:id (GET, …)`);
 * a node's further methods repeat its segment on a line of their own (`│   /leads (HEAD)`), and
 * each method line is followed by its hooks (`│   • (onRequest) ["authenticateTenant()"]`).
 */
import type { FastifyInstance } from 'fastify';

export function routeListing(app: FastifyInstance): Map<string, { onRequest: string[] }> {
  const branch: string[] = [];
  const routes = new Map<string, { onRequest: string[] }>();
  let current: { onRequest: string[] }[] = [];
  for (const line of app.printRoutes({ commonPrefix: false, includeHooks: true }).split('\n')) {
    const node = /^((?:[│ ] {3})*)[├└]── (.+?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    const hook = /• \((\w+)\) (.+)$/.exec(line);
    const more = /^(?:[│ ] {3})+(\S.*?) \(([A-Z, ]+)\)$/.exec(line);
    let methods: string[] | undefined;
    if (node) {
      branch.length = node[1]!.length / 4;
      branch.push(node[2]!);
      methods = node[3]?.split(', ') ?? [];
    } else if (hook) {
      if (hook[1] === 'onRequest') for (const route of current) route.onRequest = JSON.parse(hook[2]!) as string[];
      continue;
    } else if (more) {
      methods = more[2]!.split(', ');
    } else continue;
    current = methods.map((method) => {
      const route = { onRequest: [] };
      routes.set(`${method} ${branch.join('')}`, route);
      return route;
    });
  }
  return routes;
}
