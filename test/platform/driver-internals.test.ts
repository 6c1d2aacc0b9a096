/**
 * The pg and Prisma internals Strata relies on (src/platform/driver-internals.ts): the packages
 * are pinned exactly and installed at their pins, every internal is where it is expected, and a
 * moved one is named, refusing the platform's start rather than running without it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import t from 'tap';
import { assertDriverInternals, missingDriverInternals } from '../../src/platform/driver-internals.js';

const pinned = ['pg', '@prisma/client', '@prisma/adapter-pg', '@prisma/driver-adapter-utils', 'prisma', '@prisma/schema-engine-wasm'];

t.test('the packages whose internals are used are pinned exactly, and installed at their pins', async (t) => {
  const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as { dependencies: Record<string, string> };
  for (const name of pinned) {
    const range = manifest.dependencies[name];
    t.match(range, /^\d+\.\d+\.\d+(-[\w.]+)?$/, `${name} is pinned to one version (${range})`);
    const installed = (JSON.parse(readFileSync(join('node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
    t.equal(installed, range, `${name} is installed at its pin`);
  }
});

t.test('every internal is where this version expects it', async (t) => {
  t.same(await missingDriverInternals(), []);
  await t.resolves(assertDriverInternals());
});

// A real client's batching is bound and checked by test/router/batching.test.ts.
t.test("a Prisma client's batching is found, and its absence is named", async (t) => {
  t.same(await missingDriverInternals({}), ['Prisma client _requestHandler.dataloader.options']);
  const batching = { batchBy: () => undefined, singleLoader: async () => null, batchLoader: async () => [] };
  t.same(await missingDriverInternals({ _requestHandler: { dataloader: { options: batching } } }), []);
});

t.test('a moved internal is named and refuses the start', async (t) => {
  const query = (pg as unknown as { Query: { prototype: Record<string, unknown> } }).Query.prototype;
  const original = query.handleDataRow;
  delete query.handleDataRow;
  t.teardown(() => {
    query.handleDataRow = original;
  });
  t.same(await missingDriverInternals(), ['pg Query.prototype.handleDataRow']);
  await t.rejects(assertDriverInternals(), /internals Strata relies on are missing.*pg Query\.prototype\.handleDataRow/);
});
