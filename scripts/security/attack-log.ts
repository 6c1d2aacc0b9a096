/**
 * What an attack run records: one entry per attack (category, name, request, expected, observed,
 * pass), a progress line per category (on a terminal) or JSON lines (otherwise), and the summary
 * with counts per OWASP API Security Top 10 (2023) category.
 */

export const categories = {
  API1: 'Broken object level authorization',
  API2: 'Broken authentication',
  API3: 'Broken object property level authorization',
  API4: 'Unrestricted resource consumption',
  API5: 'Broken function level authorization',
  API6: 'Unrestricted access to sensitive business flows',
  API7: 'Server side request forgery',
  API8: 'Security misconfiguration',
  API9: 'Improper inventory management',
  API10: 'Unsafe consumption of APIs',
} as const;
export type Category = keyof typeof categories;

export interface Attack {
  category: Category;
  name: string;
  /** What was sent, e.g. `GET /leads/<id of beta-schema> as owner of alpha-pooled`. */
  request: string;
  expected: string;
  observed: string;
  pass: boolean;
}

export interface CategoryCount {
  category: Category;
  title: string;
  attacks: number;
  passed: number;
  findings: number;
}

export class AttackLog {
  readonly attacks: Attack[] = [];

  constructor(private readonly out: { tty: boolean; write: (line: string) => void }) {}

  add(attack: Attack) {
    this.attacks.push(attack);
    if (!this.out.tty) this.out.write(JSON.stringify(attack));
    else if (!attack.pass)
      this.out.write(`  FINDING ${attack.category} ${attack.name}: ${attack.request} expected ${attack.expected}, observed ${attack.observed}`);
  }

  /** Ends a category: its progress line on a terminal. */
  categoryDone(category: Category, ms: number) {
    if (!this.out.tty) return;
    const c = this.count(category);
    this.out.write(
      `${category.padEnd(5)} ${c.title.padEnd(50)} ${String(c.attacks).padStart(4)} attacks, ${String(c.findings).padStart(3)} findings (${(ms / 1000).toFixed(1)} s)`,
    );
  }

  count(category: Category): CategoryCount {
    const mine = this.attacks.filter((a) => a.category === category);
    const passed = mine.filter((a) => a.pass).length;
    return { category, title: categories[category], attacks: mine.length, passed, findings: mine.length - passed };
  }

  counts(): CategoryCount[] {
    return (Object.keys(categories) as Category[]).map((c) => this.count(c));
  }

  findings(): Attack[] {
    return this.attacks.filter((a) => !a.pass);
  }
}

/** The summary as a markdown table (also readable on a terminal). */
export function summaryTable(counts: CategoryCount[]): string {
  const total = counts.reduce((sum, c) => ({ attacks: sum.attacks + c.attacks, passed: sum.passed + c.passed, findings: sum.findings + c.findings }), {
    attacks: 0,
    passed: 0,
    findings: 0,
  });
  return [
    '| category | attacks | passed | findings |',
    '| --- | ---: | ---: | ---: |',
    ...counts.map((c) => `| ${c.category} ${c.title} | ${c.attacks} | ${c.passed} | ${c.findings} |`),
    `| total | ${total.attacks} | ${total.passed} | ${total.findings} |`,
  ].join('\n');
}
