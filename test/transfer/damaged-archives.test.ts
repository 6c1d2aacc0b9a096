/**
 * Regression: an archive cut off inside a table section got its connection reset instead of a
 * problem. Damaged archives are sent to a listening server (inject could hide a reset), on every
 * tier: each gets a 422 problem naming what is wrong, the tenant stays empty, and the intact
 * archive imports afterwards (nothing was left behind: rows, login routes, locks, staging tables).
 */
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { archiveMediaType } from '../../src/transfer/archive-format.js';
import { provision, startTestPlatform, tiers } from '../helper.js';
import { liveAdmin } from '../support/live-admin.js';
import { asRestored, seedTenantRows, tenantChecksums } from '../support/tenant-rows.js';

const platform = await startTestPlatform(t, { STRATA_SPARE_SCHEMAS: '0' });
const { raw, adminLogin } = await liveAdmin(t, platform);
const token = await adminLogin();
const source = await provision(platform, 'pooled', 'intact');
await seedTenantRows(platform, source, 2000);

const exported = await raw('GET', `/admin/tenants/${source.id}/export`, { token });
if (exported.status !== 200) throw new Error(`export: ${exported.status}`);
const archive = Buffer.from(await exported.arrayBuffer());

/** Where the header ends, and where each section's end line ends. */
function layout(bytes: Buffer) {
  const header = bytes.indexOf('\n', bytes.indexOf('\n') + 1) + 1;
  const sectionEnds: number[] = [];
  for (let at = header; at < bytes.length;) {
    const next = bytes.indexOf('\n', at) + 1;
    if (bytes.subarray(at, next).toString() === '\\.\n') sectionEnds.push(next);
    at = next;
  }
  return { header, sectionEnds };
}
const { header, sectionEnds } = layout(archive);
const tables = (JSON.parse(archive.subarray(archive.indexOf('\n') + 1, header).toString()) as { tables: { name: string }[] }).tables.map((x) => x.name);
// The largest section (the leads), cut in the middle of a row well inside it.
const sections = sectionEnds.map((end, i) => ({ table: tables[i]!, start: i ? sectionEnds[i - 1]! : header, end }));
const largest = sections.toSorted((a, b) => b.end - b.start - (a.end - a.start))[0]!;
const midRow = archive.indexOf('\n', Math.floor((largest.start + largest.end) / 2)) - 7;

const damaged: [string, Buffer, RegExp][] = [
  ['cut off inside a section', archive.subarray(0, midRow), new RegExp(`ends early, in the section of ${largest.table}$`)],
  ['cut off between sections', archive.subarray(0, sectionEnds[1]), new RegExp(`ends early, before the section of ${tables[2]}$`)],
  [
    'a section ended early by its end line, rows following',
    Buffer.concat([archive.subarray(0, midRow + 8), Buffer.from('\\.\n'), archive.subarray(midRow + 8)]),
    new RegExp(`^${largest.table}: the archive holds \\d+ rows, its manifest says 2000$`),
  ],
  ['garbage after a valid header', Buffer.concat([archive.subarray(0, header), randomBytes(256 * 1024)]), new RegExp(tables[0]!)],
];

for (const tier of tiers) {
  t.test(`${tier}: a damaged archive is a 422 problem and imports nothing`, async (t) => {
    const target = await provision(platform, tier, 'damaged');
    const routes = () => platform.catalog.loginRoute.count({ where: { tenantId: target.id } });
    const routesBefore = await routes();
    for (const [label, bytes, detail] of damaged) {
      const response = await raw('POST', `/admin/tenants/${target.id}/import`, { token, body: bytes, type: archiveMediaType });
      t.equal(response.status, 422, label);
      t.match(response.headers.get('content-type'), /^application\/problem\+json/, `${label}: a problem`);
      const problem = (await response.json()) as { code: string; detail: string };
      t.match(problem.code, /^STRATA_TRANSFER_ARCHIVE_(INVALID|MISMATCH)$/, label);
      t.match(problem.detail, detail, `${label}: says what is wrong (${problem.detail})`);
      t.ok(
        Object.values(await tenantChecksums(platform, target)).every((table) => table.rows === 0),
        `${label}: no row was imported`,
      );
      t.equal(await routes(), routesBefore, `${label}: no login route was added`);
      t.equal((await platform.catalog.tenant.findUnique({ where: { id: target.id } }))?.status, 'active', `${label}: the tenant is as it was`);
    }
    const intact = await raw('POST', `/admin/tenants/${target.id}/import`, { token, body: archive, type: archiveMediaType });
    t.equal(intact.status, 200, 'the intact archive imports afterwards');
    t.same(await tenantChecksums(platform, target), asRestored(await tenantChecksums(platform, source)), 'and holds every row');
  });
}
