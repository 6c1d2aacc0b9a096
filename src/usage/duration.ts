/** Durations written like `90s`, `1m`, `1h`, `24h` (usage queries, rebalance windows), parsed to ms. */
import { z } from 'zod';

const units = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

export const duration = z
  .string()
  .regex(/^[1-9]\d{0,6}(ms|s|m|h|d)$/, 'a duration like 30s, 1m, 1h or 24h')
  .transform((text) => {
    const [, n, unit] = /^(\d+)(ms|s|m|h|d)$/.exec(text)!;
    return Number(n) * units[unit as keyof typeof units];
  });
