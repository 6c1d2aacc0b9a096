/** Deal request and response shapes */
import { z } from 'zod';
import { pageQuery, text } from '../../http/schema-parts.js';

export const dealStages = ['prospecting', 'qualification', 'proposal', 'negotiation', 'won', 'lost'] as const;
export type DealStage = (typeof dealStages)[number];

/** A decimal string, never a JSON number (a float cannot hold 0.10), bounded as numeric(18, 2). */
const amount = z
  .string()
  .regex(/^\d{1,16}(?:\.\d{1,2})?$/, 'must be a non-negative decimal string with up to 16 integer digits and 2 decimals, e.g. "1234.50"')
  .describe('A non-negative decimal string, e.g. "1234.50"; returned with 2 decimals.');

/** ISO 4217 alphabetic code; whether it is assigned is not checked. */
const currency = z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code of 3 uppercase letters, e.g. "EUR"');

// A calendar date PostgreSQL's date type can hold: it has no year 0000.
const calendarDate = z.iso.date().refine((s) => !s.startsWith('0000'), 'must be a date from year 0001');

export const dealInput = z
  .object({
    title: text().min(1).max(200),
    amount,
    currency,
    stage: z.enum(dealStages).optional(),
    leadId: z.uuid().nullish(),
    /** Absent: the caller, if a user of the tenant. */
    ownerId: z.uuid().nullish(),
    closeDate: calendarDate.nullish(),
  })
  .strict();

export const dealPatch = dealInput.partial().strict();

export const dealListQuery = z
  .object({
    ...pageQuery,
    stage: z.enum(dealStages).optional(),
    leadId: z.uuid().optional(),
    ownerId: z.uuid().optional(),
  })
  .strict();

export const dealOutput = z.object({
  id: z.uuid(),
  title: z.string(),
  amount: z.string(),
  currency: z.string(),
  stage: z.enum(dealStages),
  leadId: z.string().nullable(),
  ownerId: z.string().nullable(),
  closeDate: z.iso.date().nullable(),
  version: z.number().int(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

export type DealInput = z.infer<typeof dealInput>;
export type DealPatch = z.infer<typeof dealPatch>;
export type DealListQuery = z.infer<typeof dealListQuery>;
