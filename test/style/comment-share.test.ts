/**
 * Comments in src/ stay short (STYLE.md: the anchors spend 9–11% of their characters on comments):
 * the suite fails when their share of src/'s characters grows past the budget.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import t from 'tap';
import ts from 'typescript';

const budget = 0.12;

/** Characters of comments in `text`, found by parsing it (a scan alone misreads template literals). */
function commentCharacters(fileName: string, text: string): number {
  const file = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, fileName.endsWith('.tsx') ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const comments = new Map<number, number>();
  const add = (ranges: ts.CommentRange[] | undefined) => {
    for (const range of ranges ?? []) comments.set(range.pos, range.end - range.pos);
  };
  const visit = (node: ts.Node) => {
    add(ts.getLeadingCommentRanges(text, node.pos));
    add(ts.getTrailingCommentRanges(text, node.end));
    for (const child of node.getChildren(file)) visit(child);
  };
  visit(file);
  return [...comments.values()].reduce((sum, n) => sum + n, 0);
}

t.test(`comments are at most ${budget * 100}% of src/'s characters`, async (t) => {
  const files = execFileSync('git', ['ls-files', 'src'], { encoding: 'utf8' })
    .split('\n')
    .filter((f) => /\.tsx?$/.test(f) && !f.startsWith('src/generated/'));
  let characters = 0;
  let comments = 0;
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    characters += text.length;
    comments += commentCharacters(file, text);
  }
  t.ok(files.length > 150, `${files.length} files read`);
  t.ok(comments / characters <= budget, `comments are ${((100 * comments) / characters).toFixed(1)}% of the characters`);
});

t.test('the count can fail: comments after a template literal count, strings that look like comments do not', async (t) => {
  const text = 'const a = `${1}/* no */`; // one\nconst b = "// no"; /* two */\n';
  t.equal(commentCharacters('x.ts', text), '// one'.length + '/* two */'.length);
});
