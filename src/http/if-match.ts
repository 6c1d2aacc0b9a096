/** Optimistic concurrency: versions go out as ETags, come back in If-Match. */
import { z } from 'zod';
import { AppError, problems } from './problems.js';

export const ifMatchHeaders = z.object({ 'if-match': z.string().max(50).optional() });

/** Accepts `"3"`, `3` or `W/"3"`; absent means "last write wins". */
export function expectedVersion(ifMatch: string | undefined): number | undefined {
  if (ifMatch === undefined) return undefined;
  const match = /^(?:W\/)?"?(\d{1,9})"?$/.exec(ifMatch.trim());
  if (!match) throw new AppError(problems.preconditionRequired, 'If-Match must be an ETag this API returned, e.g. "3"');
  return Number(match[1]);
}
