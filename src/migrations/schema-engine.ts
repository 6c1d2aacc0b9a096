/** Prisma's schema engine as WebAssembly: its native engine cannot be downloaded offline. */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { PrismaPg } from '@prisma/adapter-pg';
import pg, { type PoolConfig } from 'pg';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import type { DiffTarget, SchemaEngine as Engine } from '@prisma/schema-engine-wasm';
import { throwAsAdapterError } from '../platform/driver-internals.js';
import type { MigrationFolder } from './migration-files.js';

const require = createRequire(import.meta.url);

// WebAssembly's typings live in lib.dom, which this project does not load.
interface WasmApi {
  compile(bytes: Uint8Array): Promise<object>;
  instantiate(module: object, imports: object): Promise<{ exports: Record<string, unknown> }>;
}
const { WebAssembly } = globalThis as unknown as { WebAssembly: WasmApi };

let bindings: Promise<typeof import('@prisma/schema-engine-wasm/schema_engine_bg')> | undefined;

/** The ESM entry imports a .wasm file, which Node cannot: instantiated by hand. */
function loadBindings() {
  bindings ??= (async () => {
    const glue = await import('@prisma/schema-engine-wasm/schema_engine_bg');
    const wasmPath = require.resolve('@prisma/schema-engine-wasm/schema_engine_bg').replace(/\.js$/, '.wasm');
    const module = await WebAssembly.compile(await readFile(wasmPath));
    const instance = await WebAssembly.instantiate(module, { './schema_engine_bg.js': glue as never });
    glue.__wbg_set_wasm(instance.exports as never);
    (instance.exports as { __wbindgen_start: () => void }).__wbindgen_start();
    return glue;
  })();
  return bindings;
}

type Adapter = Awaited<ReturnType<PrismaPg['connect']>>;

/** An older shadow database belongs to a run that died (none takes this long). */
const abandonedAfterSeconds = 3600;

/** PrismaPg splits scripts on every ";", breaking function bodies; PostgreSQL runs them whole. */
class WholeScriptPg extends PrismaPg {
  constructor(private readonly poolConfig: PoolConfig) {
    super(new IntrospectionCompatPool(poolConfig), { disposeExternalPool: true });
  }

  override async connect() {
    return runScriptsWhole(await super.connect());
  }

  /** Named with its creation time; dropped WITH (FORCE), as sessions may linger. */
  override async connectToShadowDb() {
    const main = await this.connect();
    const now = Math.floor(Date.now() / 1000);
    const { rows } = await main.underlyingDriver().query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname ~ '^prisma_shadow_[0-9]+_'`);
    for (const { datname } of rows) {
      if (Number(datname.split('_')[2]) < now - abandonedAfterSeconds) await main.executeScript(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    }
    const database = `prisma_shadow_${now}_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
    await main.executeScript(`CREATE DATABASE "${database}"`);
    const shadow = await new WholeScriptPg({ ...this.poolConfig, database }).connect();
    const disposeShadow = shadow.dispose.bind(shadow);
    shadow.dispose = async () => {
      await disposeShadow();
      await main.executeScript(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      await main.dispose();
    };
    return shadow;
  }
}

/**
 * For this engine version: "char" (oid 18, unmapped by the adapter) reads as bpchar; PostgreSQL 18's
 * NOT NULL constraint rows, which panic the engine, are dropped.
 */
class IntrospectionCompatPool extends pg.Pool {
  override query = (async (...args: Parameters<pg.Pool['query']>) => {
    const result = (await (super.query as (...a: unknown[]) => Promise<pg.QueryResult>)(...args)) as pg.QueryResult;
    for (const field of result.fields ?? []) if (field.dataTypeID === 18) field.dataTypeID = 1042;
    const contype = result.fields?.findIndex((f) => f.name === 'constraint_type') ?? -1;
    if (contype >= 0) result.rows = result.rows.filter((row: unknown[]) => row[contype] !== 'n');
    return result;
  }) as unknown as pg.Pool['query'];
}

function runScriptsWhole(adapter: Adapter): Adapter {
  adapter.executeScript = async (script: string) => {
    try {
      await adapter.underlyingDriver().query(script);
    } catch (err) {
      // In the adapter's error shape, which the engine understands.
      throwAsAdapterError(adapter, err);
    }
  };
  return adapter;
}

/** Discrete fields: pg ignores `database` (the shadow's override) beside a connectionString. */
function poolConfigOf(serverUrl: string): PoolConfig {
  const url = new URL(serverUrl);
  return {
    host: url.hostname,
    port: Number(url.port || 5432),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: url.pathname.slice(1) || 'postgres',
  };
}

export type DiffSource = { kind: 'empty' } | { kind: 'schema'; path: string } | { kind: 'migrations'; baseDir: string; folders: MigrationFolder[] };

/** Needs a live server, where the engine creates a throwaway database. */
export async function diffSql(from: DiffSource, to: DiffSource, serverUrl: string): Promise<string> {
  const glue = await loadBindings();
  const schemaPaths = [from, to].flatMap((s) => (s.kind === 'schema' ? [s.path] : []));
  const lockfiles = new Map(
    await Promise.all(
      [from, to].flatMap((s) =>
        s.kind === 'migrations' ? [readFile(join(s.baseDir, 'migration_lock.toml'), 'utf8').then((text) => [s.baseDir, text] as const)] : [],
      ),
    ),
  );
  const datamodels = await Promise.all(schemaPaths.map(async (p) => [p, await readFile(p, 'utf8')] as [string, string]));
  const factory = bindMigrationAwareSqlAdapterFactory(new WholeScriptPg(poolConfigOf(serverUrl)));
  const engine: Engine = await glue.SchemaEngine.new({ datamodels }, () => {}, factory);
  const target = (s: DiffSource): DiffTarget => {
    switch (s.kind) {
      case 'empty':
        return { tag: 'empty' };
      case 'schema':
        return { tag: 'schemaDatamodel', files: [{ path: s.path, content: datamodels.find(([p]) => p === s.path)![1] }] };
      case 'migrations':
        return {
          tag: 'migrations',
          baseDir: s.baseDir,
          lockfile: { path: 'migration_lock.toml', content: lockfiles.get(s.baseDir) ?? null },
          shadowDbInitScript: '',
          migrationDirectories: s.folders.map((f) => ({
            path: f.name,
            migrationFile: { path: 'migration.sql', content: { tag: 'ok', value: f.sql } },
          })),
        } as DiffTarget;
    }
  };
  try {
    const result = await engine.diff({
      from: target(from),
      to: target(to),
      script: true,
      exitCode: null,
      filters: { externalTables: [], externalEnums: [] },
    });
    return result.stdout ?? '';
  } finally {
    engine.free();
  }
}
