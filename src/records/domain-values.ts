/**
 * Columns with a fixed set of values (a lead's status, a deal's stage, an activity's kind, a
 * user's role and status) are text domains in the database, `CREATE DOMAIN … AS text CHECK (VALUE
 * IN (…))`, not enums: under RLS a comparison can be an index condition ahead of the tenant policy
 * only if its operator is leakproof, and text's is, an enum's is not
 * (prisma/tenant/migrations/20261123010000_enums_to_text_domains). Prisma types them as string.
 * Each domain admits exactly the values of the API's `as const` list (test/crm/value-columns.test.ts
 * compares them), so a row read back holds one of those: `WithValues` says so in its type.
 */
export type WithValues<Row, Values extends { [K in keyof Row]?: string }> = Omit<Row, keyof Values> & Values;
