/**
 * Prisma's own schema engine, compiled to WebAssembly, so migration SQL comes from the same
 * differ as `prisma migrate` without the native engine (which cannot be downloaded offline).
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import type { DiffTarget, SchemaEngine as Engine } from '@prisma/schema-engine-wasm';
import type { MigrationFolder } from './migration-files.js';

const require = createRequire(import.meta.url);

// Node has WebAssembly, but its typings live in lib.dom, which this project does not load.
interface WasmApi {
  compile(bytes: Uint8Array): Promise<object>;
  instantiate(module: object, imports: object): Promise<{ exports: Record<string, unknown> }>;
}
const { WebAssembly } = globalThis as unknown as { WebAssembly: WasmApi };

let bindings: Promise<typeof import('@prisma/schema-engine-wasm/schema_engine_bg')> | undefined;

/** The package's ESM entry imports a .wasm file Node cannot import: instantiate it by hand. */
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

export type DiffSource =
  | { kind: 'empty' }
  | { kind: 'schema'; path: string }
  | { kind: 'migrations'; baseDir: string; folders: MigrationFolder[] };

/**
 * SQL that takes a database from `from` to `to`. The engine insists on a live connection, and
 * replays a migrations folder in a throwaway database it creates: `serverUrl` must allow that.
 */
export async function diffSql(from: DiffSource, to: DiffSource, serverUrl: string): Promise<string> {
  const glue = await loadBindings();
  const schemaPaths = [from, to].flatMap((s) => (s.kind === 'schema' ? [s.path] : []));
  const datamodels = await Promise.all(
    schemaPaths.map(async (p) => [p, await readFile(p, 'utf8')] as [string, string]),
  );
  const factory = bindMigrationAwareSqlAdapterFactory(
    new PrismaPg({ connectionString: serverUrl }),
  );
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
          lockfile: { path: 'migration_lock.toml', content: null },
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
