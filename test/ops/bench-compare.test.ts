/**
 * `npm run bench:compare` reads each run's ratios as the benchmarks write them and pairs the two
 * sides' runs of one round; a failed run leaves its round without a pair, never a made-up one.
 */
import t from 'tap';
import { splitArguments } from '../../scripts/bench/bench-kit.js';
import { compareRows, comparisonTable, ratioPercent, ratiosOf } from '../../scripts/bench/compare-runs.js';

t.test('ratios as the benchmarks write them', async (t) => {
  t.equal(ratioPercent('83.8%'), 83.8);
  t.equal(ratioPercent('71.5% (slices 60.2%–80%)'), 71.5, 'http-leads: the ratio before the slices');
  t.equal(ratioPercent(0.5), 50, 'a fraction');
  t.equal(ratioPercent('n/a'), undefined);
  t.equal(ratioPercent(undefined), undefined);
  const ratios = ratiosOf([{ measure: 'pooled findFirst', ratio: '96.1%' }, { measure: 'no ratio', value: '12 ms' }, { ratio: '50%' }]);
  t.same([...ratios], [['pooled findFirst', 96.1]], 'rows without a measure or a ratio are left out');
});

t.test('runs paired by round; a failed run pairs with nothing', async (t) => {
  const run = (entries: [string, number][]) => new Map(entries);
  const rows = compareRows('router-reads', [
    {
      before: run([
        ['a', 90],
        ['b', 100],
      ]),
      after: run([
        ['a', 93],
        ['b', 98],
      ]),
    },
    {
      after: run([
        ['a', 95],
        ['b', 97],
      ]),
    },
    {
      before: run([['a', 80]]),
      after: run([
        ['a', 86],
        ['c', 70],
      ]),
    },
  ]);
  t.same(
    rows.map((r) => [r.measure, r.before, r.after, r.changes]),
    [
      ['a', [90, 80], [93, 95, 86], [3, 6]],
      ['b', [100], [98, 97], [-2]],
      ['c', [], [70], []],
    ],
  );
  const table = comparisonTable(rows);
  t.match(table, '| router-reads | a | 90, 80 (85) | 93, 95, 86 (91.3) | +4.5 (+3 … +6) |');
  t.match(table, '| router-reads | b | 100 (100) | 98, 97 (97.5) | -2 (-2 … -2) |');
  t.match(table, '| router-reads | c | no run | 70 (70) | no pair |');
});

t.test('the command line: names, and flags with their values', async (t) => {
  t.same(splitArguments(['a4cafc4', 'router-reads', '--rounds', '2', '--seconds', '1', 'http-leads']), {
    names: ['a4cafc4', 'router-reads', 'http-leads'],
    flags: ['--rounds', '2', '--seconds', '1'],
  });
  t.same(splitArguments(['--seconds', 'router-reads']).names, [], 'a word after a flag is its value');
});
