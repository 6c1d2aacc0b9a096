/**
 * Fixed-value columns are text domains of the API's values (test/crm/value-columns.test.ts), not
 * enums: under RLS only a leakproof comparison can be an index condition, and an enum's is not.
 */
export type WithValues<Row, Values extends { [K in keyof Row]?: string }> = Omit<Row, keyof Values> & Values;
