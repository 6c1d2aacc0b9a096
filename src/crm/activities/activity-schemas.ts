/** Activity request and response shapes */
import { z } from 'zod';
import { pageQuery } from '../../http/schema-parts.js';

export const activityKinds = ['note', 'call', 'email', 'meeting'] as const;
export type ActivityKind = (typeof activityKinds)[number];

/** Verbatim (leading whitespace may be formatting) but not blank; PostgreSQL text refuses NUL. */
const body = z
  .string()
  .min(1)
  .max(10_000)
  .refine((s) => s.trim().length > 0, 'must not be blank')
  .refine((s) => !s.includes('\0'), 'must not contain NUL characters');

/** Years 0001..9999 in UTC: PostgreSQL has no year 0, and the listing cursor writes four digits. */
const instant = z.iso.datetime({ offset: true }).refine((s) => {
  const year = new Date(s).getUTCFullYear();
  return year >= 1 && year <= 9999;
}, 'must fall within the years 0001 to 9999 (UTC)');

export const activityInput = z
  .object({
    kind: z.enum(activityKinds),
    body,
    leadId: z.uuid().optional(),
    dealId: z.uuid().optional(),
    /** Absent: now. */
    occurredAt: instant.optional(),
  })
  .strict()
  .refine((a) => a.leadId !== undefined || a.dealId !== undefined, {
    message: 'an activity belongs to a lead or a deal: give leadId, dealId or both',
    path: ['leadId'],
  })
  .describe('An activity belongs to a lead or a deal: give leadId, dealId or both.');

/** An activity stays with its lead, deal and author. */
export const activityPatch = z
  .object({
    kind: z.enum(activityKinds),
    body,
    occurredAt: instant,
  })
  .partial()
  .strict();

export const activityListQuery = z
  .object({
    ...pageQuery,
    leadId: z.uuid().optional(),
    dealId: z.uuid().optional(),
    kind: z.enum(activityKinds).optional(),
  })
  .strict();

export const activityOutput = z.object({
  id: z.uuid(),
  kind: z.enum(activityKinds),
  body: z.string(),
  leadId: z.string().nullable(),
  dealId: z.string().nullable(),
  authorId: z.string().nullable(),
  occurredAt: z.iso.datetime(),
  createdAt: z.iso.datetime(),
});

export type ActivityInput = z.infer<typeof activityInput>;
export type ActivityPatch = z.infer<typeof activityPatch>;
export type ActivityListQuery = z.infer<typeof activityListQuery>;
