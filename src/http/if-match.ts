/** Optimistic concurrency over HTTP: versions travel as ETags and come back in If-Match. */
import { z } from 'zod';
import { AppError, problems } from './problems.js';

/** `If-Match: "3"` (or `3`, or a weak `W/"3"`) names the version an edit was based on. */
export const ifMatchHeaders = z.object({ 'if-match': z.string().max(50).optional() });

/** The version If-Match names; absent means "last write wins". */
export function expectedVersion(ifMatch: string | undefined): number | undefined {
  if (ifMatch === undefined) return undefined;
  const match = /^(?:W\/)?"?(\d{1,9})"?$/.exec(ifMatch.trim());
  if (!match) throw new AppError(problems.preconditionRequired, 'If-Match must be an ETag this API returned, e.g. "3"');
  return Number(match[1]);
}
