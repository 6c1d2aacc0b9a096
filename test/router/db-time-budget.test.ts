/** The token bucket behind the database-time guard, on a clock the test sets. */
import t from 'tap';
import { DbTimeBudget } from '../../src/router/db-time-budget.js';

t.test('a tenant may use one second of its share at once, then owes the overdraft at its rate', async (t) => {
  const budget = new DbTimeBudget();
  t.equal(budget.owedMs('a', 250, 0), 0, 'an unseen tenant owes nothing');
  budget.charge('a', 250, 200, 0);
  t.equal(budget.owedMs('a', 250, 0), 0, '50 ms of its 250 left');
  budget.charge('a', 250, 100, 0);
  t.equal(budget.owedMs('a', 250, 0), 200, '50 ms overdrawn: credit again in 200 ms at 250 ms per second');
  t.equal(budget.owedMs('a', 250, 100), 100, 'half of it earned back 100 ms later');
  t.equal(budget.owedMs('a', 250, 200), 0, 'even at 200 ms');
  t.equal(budget.owedMs('b', 250, 0), 0, "another tenant is not charged for the first one's time");
});

t.test('idle time earns at most one second of the share', async (t) => {
  const budget = new DbTimeBudget();
  budget.charge('a', 250, 100, 0);
  budget.charge('a', 250, 300, 60_000);
  t.equal(budget.owedMs('a', 250, 60_000), 200, 'after a minute idle, 250 ms were there, not 15 s');
});

t.test('a lower share applies to what is left', async (t) => {
  const budget = new DbTimeBudget();
  budget.charge('a', 1000, 100, 0);
  t.equal(budget.owedMs('a', 1000, 0), 0);
  budget.charge('a', 50, 60, 0);
  t.equal(budget.owedMs('a', 50, 0), 200, 'the 900 ms left are cut to 50, and 10 ms overdrawn at 50 ms per second');
});

t.test('buckets of tenants back to a full second are dropped', async (t) => {
  const budget = new DbTimeBudget();
  budget.charge('a', 100, 50, 0);
  budget.charge('b', 100, 500, 0);
  t.equal(budget.size, 2);
  t.equal(budget.owedMs('a', 100, 1_000), 0);
  t.equal(budget.size, 1, 'a full bucket is forgotten when read');
  budget.charge('c', 100, 10, 70_000);
  t.equal(budget.size, 1, "a minute on, b's refilled bucket is swept; c's is kept");
  t.equal(budget.owedMs('b', 100, 70_000), 0);
  t.equal(budget.owedMs('c', 100, 70_000), 0);
});
