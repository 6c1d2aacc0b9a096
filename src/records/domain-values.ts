/**
 * Fixed-value columns are text domains, not enums: under RLS only a leakproof comparison can be an
 * index condition ahead of the tenant policy, and an enum's is not
 * (prisma/tenant/migrations/20261123010000_enums_to_text_domains). Each domain admits exactly the
 * API's `as const` values (test/crm/value-columns.test.ts); `WithValues` types rows accordingly.
 */
export type WithValues<Row, Values extends { [K in keyof Row]?: string }> = Omit<Row, keyof Values> & Values;
