/** Lead request and response shapes */
import { z } from 'zod';
import { pageQuery, text } from '../../http/schema-parts.js';

export const leadStatuses = ['new', 'contacted', 'qualified', 'unqualified', 'converted'] as const;
export type LeadStatus = (typeof leadStatuses)[number];

const optionalText = (max: number) => text().max(max).nullish();

export const leadInput = z
  .object({
    name: text().min(1).max(200),
    company: optionalText(200),
    email: z.email().max(320).nullish(),
    phone: optionalText(50),
    source: optionalText(100),
    status: z.enum(leadStatuses).optional(),
    /** Absent: the caller, if a user of the tenant. */
    ownerId: z.uuid().nullish(),
    assigneeId: z.uuid().nullish(),
  })
  .strict();

export const leadPatch = leadInput.partial().strict();

export const leadListQuery = z
  .object({
    ...pageQuery,
    status: z.enum(leadStatuses).optional(),
    ownerId: z.uuid().optional(),
    assigneeId: z.uuid().optional(),
  })
  .strict();

export const leadOutput = z.object({
  id: z.uuid(),
  name: z.string(),
  company: z.string().nullable(),
  email: z.string().nullable(),
  phone: z.string().nullable(),
  source: z.string().nullable(),
  status: z.enum(leadStatuses),
  ownerId: z.string().nullable(),
  assigneeId: z.string().nullable(),
  version: z.number().int(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

export type LeadInput = z.infer<typeof leadInput>;
export type LeadPatch = z.infer<typeof leadPatch>;
export type LeadListQuery = z.infer<typeof leadListQuery>;
