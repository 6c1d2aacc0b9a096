/**
 * The tenant archive, version 1 (docs/export-import.md): the magic line, the manifest as one JSON
 * line, then per table in manifest order its COPY text rows and `\.`. Read in one pass; may be
 * gzipped. COPY text escapes backslashes, so no row is the line `\.`; rows never carry tenant_id.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { z } from 'zod';

export const archiveMagic = 'STRATA-TENANT-ARCHIVE 1';
export const archiveMediaType = 'application/vnd.strata.tenant-archive';
/** Follows the last row's newline, if any. */
export const sectionEnd = '\\.\n';
const maxHeaderLine = 4 * 1024 * 1024;

export const archiveManifest = z.object({
  format: z.literal('strata-tenant-archive'),
  formatVersion: z.literal(1),
  exportedAt: z.iso.datetime(),
  tenant: z.object({ id: z.string(), slug: z.string(), name: z.string(), plan: z.string() }),
  source: z.object({ tier: z.string(), server: z.string() }),
  /** Tenant migrations applied at the source. */
  migrations: z.array(z.string()),
  tables: z.array(
    z.object({
      name: z.string().min(1),
      columns: z.array(z.string().min(1)).min(1),
      rows: z.number().int().nonnegative(),
      checksum: z.string().regex(/^-?\d+$/),
    }),
  ),
});
export type ArchiveManifest = z.infer<typeof archiveManifest>;

export function archiveHeader(manifest: ArchiveManifest): string {
  return `${archiveMagic}\n${JSON.stringify(manifest)}\n`;
}

export class ArchiveFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArchiveFormatError';
  }
}

const newline = 0x0a;
const terminator = Buffer.from(`\n${sectionEnd}`);

export class ArchiveReader {
  readonly #chunks: AsyncIterator<Buffer | string>;
  #buffer: Buffer = Buffer.alloc(0);

  constructor(input: AsyncIterable<Buffer | string>) {
    this.#chunks = input[Symbol.asyncIterator]();
  }

  async manifest(): Promise<ArchiveManifest> {
    const magic = await this.#line();
    if (magic !== archiveMagic) throw new ArchiveFormatError(`not a Strata tenant archive (expected the line "${archiveMagic}")`);
    let json: unknown;
    try {
      json = JSON.parse(await this.#line());
    } catch {
      throw new ArchiveFormatError('the manifest is not valid JSON');
    }
    const parsed = archiveManifest.safeParse(json);
    if (!parsed.success) {
      throw new ArchiveFormatError(`the manifest is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'manifest'}: ${i.message}`).join('; ')}`);
    }
    return parsed.data;
  }

  /** The next section's COPY text, without its end line; consume it before the next call. */
  async *section(table: string): AsyncGenerator<Buffer> {
    while (this.#buffer.length < sectionEnd.length) await this.#fill(this.#buffer.length ? `in the section of ${table}` : `before the section of ${table}`);
    if (this.#buffer.subarray(0, sectionEnd.length).toString() === sectionEnd) {
      this.#buffer = this.#buffer.subarray(sectionEnd.length);
      return;
    }
    for (;;) {
      const end = this.#buffer.indexOf(terminator);
      if (end !== -1) {
        const rows = this.#buffer.subarray(0, end + 1);
        this.#buffer = this.#buffer.subarray(end + terminator.length);
        yield rows;
        return;
      }
      // Keep what could be the start of a terminator split across chunks.
      const keep = terminator.length - 1;
      if (this.#buffer.length > keep) {
        const rows = this.#buffer.subarray(0, this.#buffer.length - keep);
        this.#buffer = this.#buffer.subarray(this.#buffer.length - keep);
        yield rows;
      }
      await this.#fill(`in the section of ${table}`);
    }
  }

  async end(): Promise<void> {
    if (this.#buffer.length || !(await this.#next()).done) throw new ArchiveFormatError('unexpected data after the last table');
  }

  async #line(): Promise<string> {
    for (;;) {
      const at = this.#buffer.indexOf(newline);
      if (at !== -1) {
        const line = this.#buffer.subarray(0, at).toString('utf8');
        this.#buffer = this.#buffer.subarray(at + 1);
        return line;
      }
      if (this.#buffer.length > maxHeaderLine) throw new ArchiveFormatError('the archive header is too long');
      await this.#fill('in the header');
    }
  }

  async #fill(where: string) {
    const next = await this.#next();
    if (next.done) throw new ArchiveFormatError(`the archive ends early, ${where}`);
    const chunk = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
    this.#buffer = this.#buffer.length ? Buffer.concat([this.#buffer, chunk]) : chunk;
  }

  #next() {
    return this.#chunks.next();
  }
}

/** Gunzips the input if it starts with the gzip magic. */
export async function* decompressed(input: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer> {
  const chunks = input[Symbol.asyncIterator]();
  const first = await chunks.next();
  if (first.done) return;
  const head = typeof first.value === 'string' ? Buffer.from(first.value) : first.value;
  const rest = { [Symbol.asyncIterator]: () => chunks };
  if (head[0] !== 0x1f || head[1] !== 0x8b) {
    yield head;
    for await (const chunk of rest) yield typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    return;
  }
  const gunzip = createGunzip();
  // pipeline destroys gunzip with either side's error, so the reader below sees it.
  pipeline(
    Readable.from(
      (async function* () {
        yield head;
        yield* rest;
      })(),
    ),
    gunzip,
  ).catch(() => undefined);
  try {
    for await (const chunk of gunzip) yield chunk as Buffer;
  } catch (err) {
    // zlib's errors (Z_…) mean bad bytes; the source's pass as they are.
    if (/^Z_/.test((err as { code?: string }).code ?? '')) throw new ArchiveFormatError(`the gzip stream is damaged: ${(err as Error).message}`);
    throw err;
  }
}
