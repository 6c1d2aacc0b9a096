/**
 * The statements a session keeps prepared (src/router/session-statements.ts), without a database:
 * a text is prepared on its second use and reused from its third, the least recently used is
 * closed beyond the session's room, and a forgotten one is closed and prepared anew later.
 */
import t from 'tap';
import { SessionStatements } from '../../src/router/session-statements.js';

t.test('prepared on the second use, reused from the third', async (t) => {
  const session = new SessionStatements();
  t.same(session.statementFor('a'), { name: '', parse: true }, 'a one-off runs unnamed');
  const second = session.statementFor('a');
  t.match(second, { name: /^strata_s\d+$/, parse: true }, 'the second use prepares it');
  t.same(session.statementFor('a'), { name: second.name, parse: false }, 'the third runs it kept');
  t.equal(session.kept, 1);
  t.same(session.takeClosing(), []);
});

t.test('beyond its room the least recently used statement is closed, the recently used one kept', async (t) => {
  const session = new SessionStatements();
  const keep = (key: string) => {
    session.statementFor(key);
    return session.statementFor(key).name;
  };
  const first = keep('first');
  const second = keep('second');
  for (let i = 0; i < 98; i++) keep(`k${i}`);
  t.equal(session.kept, 100);
  t.same(session.statementFor('first'), { name: first, parse: false }, 'using it makes it recent');
  keep('one more');
  t.same(session.takeClosing(), [second], 'the least recently used is closed');
  t.equal(session.kept, 100);
  t.same(session.statementFor('first'), { name: first, parse: false });
});

t.test('a forgotten statement is closed, and prepared again on later uses', async (t) => {
  const session = new SessionStatements();
  session.statementFor('a');
  const { name } = session.statementFor('a');
  session.forget('a');
  session.forget('never kept');
  t.same(session.takeClosing(), [name]);
  t.equal(session.kept, 0);
  t.same(session.statementFor('a'), { name: '', parse: true }, 'first use again');
  t.match(session.statementFor('a'), { name: /^strata_s\d+$/, parse: true });
  t.not(session.statementFor('a').name, name, 'under a new name');
});
