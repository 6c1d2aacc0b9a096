// The production shape, checked with what runs without a container engine: compose's environment
// for the API passes the production config schema, every secret is a required and documented
// compose variable, the build context leaves secrets and host files out, and the final stage of
// infra/Dockerfile, rebuilt file by file from its COPY lines, boots and serves.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { cp, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ignoreModule from 'ignore';
import t from 'tap';
import { parse } from 'yaml';
import { loadConfig, secretKeys } from '../../src/config/config.js';
import { adminUrl } from '../helper.js';
import { startServerProcess } from '../support/server-process.js';
import { testSecrets } from '../support/test-secrets.js';

interface Stage {
  name: string;
  env: Record<string, string>;
  copies: { from?: string; sources: string[]; dest: string }[];
  runs: string[];
}

/** The stages of a Dockerfile: their ENV, COPY and RUN instructions (continuation lines joined). */
function stagesOf(dockerfile: string): Stage[] {
  const stages: Stage[] = [];
  for (const line of dockerfile.replace(/\\\n\s*/g, ' ').split('\n')) {
    const [instruction, ...rest] = line.trim().split(/\s+/);
    const stage = stages.at(-1);
    if (instruction === 'FROM') stages.push({ name: rest[2] ?? 'final', env: {}, copies: [], runs: [] });
    else if (instruction === 'ENV') for (const pair of rest) stage!.env[pair.split('=')[0]!] = pair.split('=').slice(1).join('=');
    else if (instruction === 'RUN') stage!.runs.push(rest.join(' '));
    else if (instruction === 'COPY') {
      const from = rest[0]?.startsWith('--from=') ? rest.shift()!.slice('--from='.length) : undefined;
      stage!.copies.push({ from, sources: rest.slice(0, -1), dest: rest.at(-1)! });
    }
  }
  return stages;
}

// `ignore` is CommonJS typed as an ES module: its default export is the module object's own `default`.
const ignore = ignoreModule.default;
// The final stage runs a production install: minutes on a busy machine.
t.setTimeout(900_000);

const stages = stagesOf(await readFile('infra/Dockerfile', 'utf8'));
const final = stages.at(-1)!;
const compose = parse(await readFile('infra/compose.yaml', 'utf8')) as { services: Record<string, { environment?: Record<string, string> }> };

/** Compose's interpolation of `${NAME}`, `${NAME:-default}` and `${NAME:?message}` (required). */
function interpolate(environment: Record<string, string>, variables: Record<string, string>) {
  const required = new Set<string>();
  const env = Object.fromEntries(
    Object.entries(environment).map(([key, value]) => [
      key,
      String(value).replace(/\$\{(\w+)(?::([?-])([^}]*))?\}/g, (_, name: string, op?: string, fallback?: string) => {
        if (op === '?') required.add(name);
        return variables[name] ?? (op === '-' ? fallback! : '');
      }),
    ]),
  );
  return { env, required };
}

t.test("compose's API environment, on the image's, passes the production config schema", async (t) => {
  const api = compose.services.api!.environment!;
  const { required } = interpolate(api, {});
  const chosen = Object.fromEntries([...required].map((name) => [name, randomBytes(24).toString('base64url')]));
  const { env } = interpolate(api, chosen);
  const config = loadConfig({ ...final.env, ...env });
  t.equal(config.env, 'production');
  t.equal(config.http.host, '0.0.0.0', 'listens beyond the container');
  t.match(config.database.url, /^postgres:\/\/postgres:.+@postgres:5432\//);
  t.equal(config.redisUrl, 'redis://redis:6379');
  t.throws(() => loadConfig({ ...final.env, ...interpolate(api, {}).env }), 'refused with the variables unset');
});

t.test('every secret is a required compose variable, documented in infra/README.md', async (t) => {
  const api = compose.services.api!.environment!;
  const readme = await readFile('infra/README.md', 'utf8');
  const { required } = interpolate(api, {});
  for (const key of secretKeys.filter((key) => key !== 'STRATA_EMBEDDED_PASSWORD')) {
    t.match(api[key], /^\$\{\w+:\?/, `${key} is required (\${…:?…}): compose refuses to start without it`);
  }
  for (const name of required) t.match(readme, new RegExp(`\`${name}\``), `${name} is documented`);
});

t.test('the build context leaves out secrets, purge archives and the host’s installed and built files', async (t) => {
  const context = ignore().add(await readFile('.dockerignore', 'utf8'));
  for (const path of [
    '.env',
    'infra/.env',
    '.strata/secrets.json',
    '.strata/exports/acme.strata',
    'node_modules/pg/package.json',
    'dist/server.js',
    'src/generated/catalog/client.ts',
    'infra/userlist.txt',
  ]) {
    t.ok(context.ignores(path), `${path} is not sent`);
  }
  for (const path of [
    'package.json',
    'package-lock.json',
    'src/server.ts',
    'prisma/tenant/baseline.sql',
    'scripts/migrate.ts',
    'tsconfig.build.json',
    '.env.example',
  ]) {
    t.notOk(context.ignores(path), `${path} is sent`);
  }
});

t.test("the final stage's files boot: node dist/server.js and an operator command, production dependencies only", async (t) => {
  t.ok(final.env.HOST && final.env.NODE_ENV === 'production', 'the image sets its environment');
  t.match((await readFile('infra/Dockerfile', 'utf8')).replace(/\\\n\s*/g, ' '), /^HEALTHCHECK .*\/healthz/m, 'the image has a health check');
  const root = await mkdtemp(join(tmpdir(), 'strata-image-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const app = join(root, 'app');

  // Each stage copies from the context (this checkout); `build` is this checkout once built
  // (npm test builds first), `deps` is made here by running its own instructions.
  const built = new Map<string, string>([['build', '.']]);
  for (const stage of stages.filter((s) => s.name !== 'build')) {
    const dir = stage === final ? app : join(root, stage.name);
    await mkdir(dir, { recursive: true });
    for (const { from, sources, dest } of stage.copies) {
      for (const source of sources) {
        const origin = from ? join(built.get(from)!, source.replace(/^\/app\//, '')) : source;
        await cp(origin, join(dir, dest.endsWith('/') ? join(dest, source.split('/').at(-1)!) : dest), { recursive: true });
      }
    }
    for (const run of stage.runs.filter((r) => r.startsWith('npm ci'))) {
      const child = spawn('npm', [...run.split(' ').slice(1), '--prefer-offline', '--loglevel=error'], { cwd: dir, stdio: ['ignore', 'inherit', 'inherit'] });
      t.equal((await once(child, 'exit'))[0], 0, `${stage.name}: ${run}`);
    }
    built.set(stage.name, dir);
  }
  for (const dev of ['tap', 'eslint', 'autocannon']) t.notOk(existsSync(join(app, 'node_modules', dev)), `no ${dev} (a devDependency)`);

  const { NODE_ENV: _production, HOST: _host, PORT: _port, ...imageEnv } = final.env;
  const server = await startServerProcess(t, { cwd: app, env: { ...imageEnv, STRATA_PURGE_EXPORT_DIR: join(root, 'data/exports') } });
  t.equal((await fetch(`${server.url}/readyz`)).status, 200, 'booted from the copied files, migrated, ready');

  const status = spawn(join(app, 'node_modules/.bin/tsx'), ['scripts/migrate.ts', 'status', '--json'], {
    cwd: app,
    env: { PATH: process.env.PATH, ...testSecrets, DATABASE_URL: adminUrl(), STRATA_DB_PREFIX: server.prefix, LOG_LEVEL: 'silent' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  status.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  t.equal((await once(status, 'exit'))[0], 0, 'npm run migrate -- status runs in the image');
  t.match(out, /catalog/);
});
