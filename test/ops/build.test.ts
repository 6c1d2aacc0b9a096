// `npm run build` compiles src/ to dist/, and the production command `node dist/server.js` boots
// from it: the migrations (prisma/), package.json and the generated Prisma clients are found from
// dist.
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import t from 'tap';
import { runScript } from '../support/run-script.js';
import { startServerProcess } from '../support/server-process.js';
import { testSecrets } from '../support/test-secrets.js';

const build = await runScript('build', [], {});

t.test('npm run build compiles every module of src, the generated Prisma clients included', async (t) => {
  t.equal(build.code, 0, `npm run build succeeded ${build.stdout}${build.stderr}`);
  // The console's browser code is bundled by esbuild into dist/console-assets/, not compiled module by module.
  const sources = (await readdir('src', { recursive: true })).filter(
    (file) => file.endsWith('.ts') && !file.endsWith('.d.ts') && !file.startsWith('console/ui/'),
  );
  t.ok(existsSync('dist/console-assets/index.html'), 'the console is bundled');
  t.ok(
    sources.some((file) => file.startsWith('generated/')),
    'the generated clients are part of the build',
  );
  const missing = sources.map((file) => file.replace(/\.ts$/, '.js')).filter((file) => !existsSync(`dist/${file}`));
  t.same(missing, [], `all ${sources.length} modules compiled to dist/`);
});

t.test('node dist/server.js boots, migrates and serves', async (t) => {
  const server = await startServerProcess(t);
  t.equal((await fetch(`${server.url}/healthz`)).status, 200);
  t.equal((await fetch(`${server.url}/readyz`)).status, 200, 'the catalog was migrated from prisma/ and answers');
  const docs = (await (await fetch(`${server.url}/docs/json`)).json()) as { info: { version: string } };
  t.match(docs.info.version, /^\d+\.\d+\.\d+/, 'package.json is found from dist');
  const login = await fetch(`${server.url}/admin/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'admin@strata.local', password: testSecrets.STRATA_ADMIN_PASSWORD }),
  });
  t.equal(login.status, 200, 'the generated catalog client works from dist (bootstrap admin logs in)');
});
