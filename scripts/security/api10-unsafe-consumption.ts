/**
 * API10 Unsafe consumption of APIs: Strata consumes tenant archives produced elsewhere (another
 * installation, a file kept for years). Hostile ones (damaged, cut off, altered, with names and
 * columns that try to escape their table, from a future version, gzip bombs, oversized, or sent as
 * another media type) are refused with a 4xx and leave the tenant untouched, on every tier: a valid
 * archive imported last into the same tenant proves it stayed empty.
 */
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { tiers, type Tier } from '../../src/tenants/placement.js';
import type { AttackContext, RequestOptions } from './attack-context.js';
import { type Fixtures, must } from './fixtures.js';

const archiveType = 'application/vnd.strata.tenant-archive';
const mib = 1024 * 1024;

interface Parsed {
  magic: string;
  manifest: { migrations: string[]; tables: { name: string; columns: string[]; rows: number }[]; formatVersion: number };
  data: string;
}

function parse(archive: string): Parsed {
  const first = archive.indexOf('\n');
  const second = archive.indexOf('\n', first + 1);
  return { magic: archive.slice(0, first), manifest: JSON.parse(archive.slice(first + 1, second)), data: archive.slice(second + 1) };
}
const build = ({ magic, manifest, data }: Parsed) => `${magic}\n${JSON.stringify(manifest)}\n${data}`;
const edited = (archive: string, change: (p: Parsed) => void) => {
  const p = structuredClone(parse(archive));
  change(p);
  return build(p);
};

/** Hostile archives made from a real one; `full` adds the costly ones. */
function hostile(real: string, full: boolean): [string, Buffer | string][] {
  const header = real.slice(0, real.indexOf('\n', real.indexOf('\n') + 1) + 1);
  const cases: [string, Buffer | string][] = [
    ['a cut-off archive', real.slice(0, Math.floor(real.length / 2))],
    ['an altered row (checksum)', real.replace(/Lead of beta-(\w+)/, 'Lead of beta-$1X')],
    ['a manifest claiming more rows', edited(real, (p) => (p.manifest.tables[0]!.rows += 1))],
    ['a table named ../../etc/passwd', edited(real, (p) => (p.manifest.tables[0]!.name = '../../etc/passwd'))],
    ['a table name with SQL', edited(real, (p) => (p.manifest.tables[0]!.name = 'users"; DROP TABLE leads; --'))],
    ['a column name with SQL', edited(real, (p) => (p.manifest.tables.find((t) => t.name === 'leads')!.columns[0] = 'id" text); DROP TABLE users; --'))],
    ['a tenant_id column', edited(real, (p) => p.manifest.tables.find((t) => t.name === 'leads')!.columns.push('tenant_id'))],
  ];
  if (!full) return cases;
  return [
    ...cases,
    ['random bytes', randomBytes(64 * 1024)],
    ['the magic line only', 'STRATA-TENANT-ARCHIVE 1\n'],
    ['a future format version', real.replace('STRATA-TENANT-ARCHIVE 1', 'STRATA-TENANT-ARCHIVE 2')],
    ['a manifest that is not JSON', 'STRATA-TENANT-ARCHIVE 1\n{not json}\n\\.\n'],
    ['a 5 MiB manifest line', `STRATA-TENANT-ARCHIVE 1\n${'x'.repeat(5 * mib)}`],
    ['an archive ended early by \\.', real.replace(/\n([^\n]*Lead of beta)/, '\n\\.\n$1')],
    ['an extra row after a section', real.replace('\n\\.\n', `\n${'x\t'.repeat(5)}x\n\\.\n`)],
    ['a gzip bomb in the manifest (64 MiB of one line)', gzipSync(Buffer.concat([Buffer.from('STRATA-TENANT-ARCHIVE 1\n'), Buffer.alloc(64 * mib, 0x61)]))],
    ['a gzip bomb in the rows (64 MiB of one row)', gzipSync(Buffer.concat([Buffer.from(header), Buffer.alloc(64 * mib, 0x61)]))],
    ['gzip that is cut off', gzipSync(Buffer.from(real)).subarray(0, 200)],
  ];
}

async function importInto(ctx: AttackContext, tenantId: string, body: Buffer | string, options: Partial<RequestOptions> = {}) {
  return ctx.send('POST', `/admin/tenants/${tenantId}/import`, { raw: body, type: archiveType, ...options });
}

async function onTier(ctx: AttackContext, fx: Fixtures, tier: Tier, emptyTenant: string | undefined, full: boolean) {
  const token = fx.adminToken;
  const exported = await ctx.send('GET', `/admin/tenants/${fx.beta[tier].id}/export`, { token });
  const real = must(`export of ${fx.beta[tier].label}`, exported.status, 200, exported.text);
  // Without an empty tenant (a server the run did not start) refusals may come before the archive is read.
  const target = emptyTenant ?? fx.alpha[tier].id;
  const refused = emptyTenant ? [400, 422] : [400, 409, 422];
  const as = `platform admin into ${emptyTenant ? 'an empty' : 'a non-empty'} ${tier} tenant`;
  for (const [what, archive] of hostile(real, full)) {
    const type = Buffer.isBuffer(archive) && archive[0] === 0x1f ? 'application/gzip' : archiveType;
    ctx.expect(`import ${what}`, await importInto(ctx, target, archive, { token, as, type }), refused);
  }
  if (full) {
    ctx.expect(
      'import a future migration',
      await importInto(
        ctx,
        target,
        edited(real, (p) => p.manifest.migrations.push('99991231000000_from_the_future')),
        { token, as },
      ),
      [409],
    );
    ctx.expect('import as application/json', await importInto(ctx, target, real, { token, as, type: 'application/json' }), [415]);
    ctx.expect('import an empty body', await importInto(ctx, target, '', { token, as }), refused);
    ctx.expect('a tenant owner imports', await importInto(ctx, target, real, { token: fx.alpha[tier].users.owner.token, as: 'tenant owner' }), [401]);
    const max = ctx.options.importMaxBytes;
    if (max) {
      const oversized = Buffer.concat([Buffer.from(real), Buffer.alloc(max + mib - real.length, 0x61)]);
      ctx.expect('import an archive over STRATA_IMPORT_MAX_BYTES', await importInto(ctx, target, oversized, { token, as }), [413]);
      ctx.expect(
        'stream an archive over STRATA_IMPORT_MAX_BYTES without a length',
        await importInto(ctx, target, oversized, { token, as, chunked: true }),
        [0, 413, 422],
      );
    }
  }
  ctx.expect(
    'import into a tenant with data',
    await importInto(ctx, fx.alpha[tier].id, real, { token, as: `platform admin into ${fx.alpha[tier].label}` }),
    [409],
  );
  if (emptyTenant) {
    const valid = await importInto(ctx, emptyTenant, real, { token, as: 'platform admin (control)' });
    ctx.expect('the valid archive imports after the refusals (nothing was left behind)', valid, 200);
  }
}

export async function unsafeConsumption(ctx: AttackContext, fx: Fixtures, emptyTenants?: Record<Tier, string>) {
  for (const tier of tiers) await onTier(ctx, fx, tier, emptyTenants?.[tier], !ctx.quick || tier === 'pooled');
}
