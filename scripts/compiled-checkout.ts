/**
 * The checkout's TypeScript compiled once per test run (esbuild, file by file, no bundling) into a
 * mirror of the checkout under .strata/, so each test file's process runs plain JavaScript: loading
 * a file through tsx's loader thread cost ~1.2 s of CPU per file, a fifth of the suite's CPU.
 * Every file of the checkout is also linked into the mirror at its own path (a .ts beside its .js),
 * so paths relative to a module (import.meta.url: prisma/, docs/, infra/, package.json) still
 * reach the checkout's files.
 */
import { rmSync } from 'node:fs';
import { mkdir, readdir, rm, symlink } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { build } from 'esbuild';

/** The folders whose TypeScript is compiled; everything else at the top is linked as it is. */
const compiledFolders = ['src', 'test', 'scripts'];
const notLinked = new Set([...compiledFolders, '.git', '.strata']);
const typescript = /\.tsx?$/;

export interface CompiledCheckout {
  /** Node's arguments that run `file`: its compiled JavaScript, or the file itself through tsx when it is outside the mirror. */
  nodeArguments(file: string): string[];
}

/** Compiles `root`'s src/, test/ and scripts/ into `mirror` (replacing whatever was there), removed when this process exits. */
export async function compileCheckout(root: string, mirror: string): Promise<CompiledCheckout> {
  await rm(mirror, { recursive: true, force: true });
  process.once('exit', () => rmSync(mirror, { recursive: true, force: true }));
  const sources: string[] = [];
  const links: string[] = [];
  for (const folder of compiledFolders) {
    for (const entry of await readdir(join(root, folder), { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const path = relative(root, join(entry.parentPath, entry.name));
      links.push(path);
      if (typescript.test(entry.name) && !entry.name.endsWith('.d.ts')) sources.push(path);
    }
  }
  await build({
    absWorkingDir: root,
    entryPoints: sources,
    outdir: mirror,
    outbase: '.',
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // Stacks name the TypeScript file and line (+0.1 s of CPU per process with --enable-source-maps).
    sourcemap: 'inline',
    logLevel: 'error',
  });
  for (const path of links) {
    await mkdir(dirname(join(mirror, path)), { recursive: true });
    await symlink(join(root, path), join(mirror, path));
  }
  for (const entry of await readdir(root)) if (!notLinked.has(entry)) await symlink(join(root, entry), join(mirror, entry));

  const compiled = new Set(sources.map((path) => resolve(root, path)));
  return {
    nodeArguments(file) {
      const path = resolve(root, file);
      return compiled.has(path) ? ['--enable-source-maps', join(mirror, relative(root, path)).replace(typescript, '.js')] : ['--import=tsx', file];
    },
  };
}
