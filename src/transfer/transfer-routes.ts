/** Export and import endpoints; both stream, and uploads are bounded by STRATA_IMPORT_MAX_BYTES. */
import { PassThrough, Transform, type Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { recordAdminAction } from '../admin/admin-audit.js';
import { tenantParams } from '../admin/tenant-admin-schemas.js';
import { findTenant } from '../admin/tenant-lifecycle.js';
import { AppError, problems } from '../http/problems.js';
import { ArchiveFormatError, archiveMediaType } from './archive-format.js';
import { assertExportable, exportTenant, totalRows } from './export-tenant.js';
import { importTenant, ImportRefusedError, ImportVerificationError } from './import-tenant.js';
import { TransferStateError } from './transfer-progress.js';

const exportQuery = z.object({ gzip: z.enum(['true', 'false']).optional() }).strict();

const importResult = z.object({
  tenantId: z.uuid(),
  rows: z.number().int(),
  tables: z.array(z.object({ name: z.string(), rows: z.number().int() })),
  source: z.object({ tenant: z.string(), tier: z.string(), exportedAt: z.string() }),
});

/** Anything else stays a 500. */
function asProblem(err: unknown): unknown {
  if (err instanceof ArchiveFormatError) return new AppError(problems.archiveInvalid, err.message);
  if (err instanceof ImportVerificationError) return new AppError(problems.archiveMismatch, err.message);
  if (err instanceof ImportRefusedError) return new AppError(err.reason === 'not-empty' ? problems.tenantNotEmpty : problems.archiveVersion, err.message);
  if (err instanceof TransferStateError) return new AppError(problems.tenantState, err.message);
  return err;
}

/** `discardRest` drains the upload, so a refusal mid-archive is a problem, not a connection reset. */
function limitedUpload(body: Readable, limit: number) {
  let bytes = 0;
  const guard = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      done(bytes > limit ? new AppError(problems.payloadTooLarge, `archives are limited to ${limit} bytes (STRATA_IMPORT_MAX_BYTES)`) : null, chunk);
    },
  });
  // pipe() forwards no errors: without these, an aborted upload leaves the import waiting.
  body.once('error', (err) => guard.destroy(err));
  body.once('close', () => body.readableEnded || guard.destroy(new Error('the upload was cut off')));
  return {
    stream: body.pipe(guard),
    async discardRest() {
      body.unpipe(guard);
      if (body.readableEnded || body.destroyed) return;
      body.resume();
      await finished(body).catch(() => undefined);
    },
  };
}

export const transferRoutes: FastifyPluginAsyncZod = async (app) => {
  const { platform } = app;
  const maxBytes = platform.config.transfer.importMaxBytes;
  // The default parsers would buffer the body.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser([archiveMediaType, 'application/gzip', 'application/octet-stream'], (_request, payload, done) => done(null, payload));

  app.get('/admin/tenants/:id/export', { schema: { params: tenantParams, querystring: exportQuery } }, async (request, reply) => {
    const tenant = await findTenant(platform, request.params.id);
    // Refuse before the stream starts and sends the status line.
    try {
      assertExportable(tenant);
    } catch (err) {
      throw asProblem(err);
    }
    const gzip = request.query.gzip === 'true';
    const body = new PassThrough();
    const out = gzip ? createGzip() : body;
    if (gzip) {
      out.pipe(body);
      // pipe() links no hang-ups: the client going away stops gzip.
      body.once('close', () => out.destroy());
    }
    exportTenant(platform, tenant, out)
      // Audited before the archive's end goes out: nobody holds a whole archive that was not recorded.
      .then(async (manifest) => {
        await recordAdminAction(platform.catalog, {
          adminId: request.admin.id,
          action: 'tenant.export',
          tenantId: tenant.id,
          details: { rows: totalRows(manifest) },
        });
        out.end();
      })
      .catch((err: unknown) => {
        // The status line is sent: the client sees a cut-off archive, which import refuses.
        request.log.error({ err, tenantId: tenant.id }, 'tenant export failed');
        out.destroy(err as Error);
        body.destroy(err as Error);
      });
    const stamp = new Date().toISOString().replaceAll(':', '').replace(/\..*/, 'Z');
    return reply
      .type(gzip ? 'application/gzip' : archiveMediaType)
      .header('content-disposition', `attachment; filename="${tenant.slug}-${stamp}.strata${gzip ? '.gz' : ''}"`)
      .send(body);
  });

  app.post('/admin/tenants/:id/import', { schema: { params: tenantParams, response: { 200: importResult } } }, async (request) => {
    const tenant = await findTenant(platform, request.params.id);
    const declared = Number(request.headers['content-length'] ?? 0);
    if (declared > maxBytes) throw new AppError(problems.payloadTooLarge, `archives are limited to ${maxBytes} bytes (STRATA_IMPORT_MAX_BYTES)`);
    if (!request.body) throw new AppError(problems.archiveInvalid, 'the request has no body: send the archive');
    const upload = limitedUpload(request.body as Readable, maxBytes);
    try {
      const result = await importTenant(platform, tenant, upload.stream);
      const { manifest } = result;
      await recordAdminAction(platform.catalog, {
        adminId: request.admin.id,
        action: 'tenant.import',
        tenantId: tenant.id,
        details: { rows: result.rows, from: manifest.tenant.slug, fromTenantId: manifest.tenant.id, exportedAt: manifest.exportedAt },
      });
      return {
        tenantId: tenant.id,
        rows: result.rows,
        tables: result.tables,
        source: { tenant: manifest.tenant.slug, tier: manifest.source.tier, exportedAt: manifest.exportedAt },
      };
    } catch (err) {
      await upload.discardRest();
      throw asProblem(err);
    }
  });
};
