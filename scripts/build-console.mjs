/**
 * Builds the operator console (src/console/ui/) into dist/console-assets/: one minified ES module
 * and one stylesheet, named by content hash, and index.html naming them. Run by `npm run build`.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { build } from 'esbuild';

const source = new URL('../src/console/ui/', import.meta.url);
const out = new URL('../dist/console-assets/', import.meta.url);

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
/**
 * zod re-exports every locale's messages as `z.locales` (260 kB minified), which no bundler can
 * drop from `import { z }`; the console shows English only, as the API does.
 */
const englishOnly = {
  name: 'zod-english-only',
  setup(plugin) {
    plugin.onResolve({ filter: /\/locales\/index\.js$/ }, (args) =>
      args.importer.includes('/node_modules/zod/') ? { path: 'zod-locales', namespace: 'zod-locales' } : undefined,
    );
    plugin.onLoad({ filter: /.*/, namespace: 'zod-locales' }, () => ({
      contents: "export { default as en } from 'zod/v4/locales/en.js';",
      resolveDir: new URL('.', import.meta.url).pathname,
    }));
  },
};

const result = await build({
  plugins: [englishOnly],
  entryPoints: { console: new URL('main.tsx', source).pathname, style: new URL('console.css', source).pathname },
  outdir: out.pathname,
  entryNames: '[name]-[hash]',
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2022',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  tsconfig: new URL('tsconfig.json', source).pathname,
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});
const outputs = Object.keys(result.metafile.outputs).map((path) => basename(path));
const js = outputs.find((name) => name.endsWith('.js'));
const css = outputs.find((name) => name.endsWith('.css'));
const page = (await readFile(new URL('index.html', source), 'utf8')).replace('{{js}}', js).replace('{{css}}', css);
await writeFile(new URL('index.html', out), page);
