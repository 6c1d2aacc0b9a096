// Generates both Prisma clients on install, offline. `prisma generate` wants the native schema
// engine only to exist (generation itself is WebAssembly), and that binary cannot be downloaded
// here: pointing PRISMA_SCHEMA_ENGINE_BINARY at any existing file skips the download.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const cli = require.resolve('prisma/build/index.js');
const env = { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY || process.execPath, PRISMA_HIDE_UPDATE_MESSAGE: '1' };
for (const schema of ['prisma/catalog/schema.prisma', 'prisma/tenant/schema.prisma']) {
  execFileSync(process.execPath, [cli, 'generate', '--schema', schema], { stdio: 'inherit', env });
}
