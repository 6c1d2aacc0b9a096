/** Tenant user request and response shapes. */
import { z } from 'zod';
import { pageQuery, text } from '../http/schema-parts.js';
import { userRoles } from '../auth/tokens.js';

export const userStatuses = ['active', 'deactivated'] as const;
export type UserStatus = (typeof userStatuses)[number];
export type UserRole = (typeof userRoles)[number];

/** Length is what makes a password hard to guess. */
export const password = z.string().min(12, 'at least 12 characters').max(1024);

export const userCreate = z
  .object({
    email: z.email().max(320),
    name: text().min(1).max(200),
    role: z.enum(userRoles).default('staff'),
    /** Omitted: a temporary one is generated and returned once. */
    password: password.optional(),
  })
  .strict();

export const userPatch = z
  .object({
    name: text().min(1).max(200).optional(),
    role: z.enum(userRoles).optional(),
    status: z.enum(userStatuses).optional(),
    password: password.optional(),
  })
  .strict();

export const userListQuery = z
  .object({
    ...pageQuery,
    role: z.enum(userRoles).optional(),
    status: z.enum(userStatuses).optional(),
  })
  .strict();

export const userOutput = z.object({
  id: z.uuid(),
  email: z.string(),
  name: z.string(),
  role: z.enum(userRoles),
  status: z.enum(userStatuses),
  version: z.number().int(),
  lastLoginAt: z.iso.datetime().nullable(),
  createdAt: z.iso.datetime(),
});

export const userCreated = userOutput.extend({ temporaryPassword: z.string().optional() });

export type UserCreate = z.infer<typeof userCreate>;
export type UserPatch = z.infer<typeof userPatch>;
export type UserListQuery = z.infer<typeof userListQuery>;
