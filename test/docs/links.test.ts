// Every relative link and #anchor in README.md and docs/*.md must resolve to a file and, for a
// Markdown target, to one of its headings: the README was split into docs/ pages, and links to
// sections that had moved or never existed ("see Architecture") had rotted unnoticed.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const root = fileURLToPath(new URL('../../', import.meta.url));
const pages = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];

/** The text outside fenced code blocks, where `#` lines are not headings. */
function unfenced(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
}

/** GitHub's heading ids: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const [, heading] of unfenced(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const slug = heading!
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\p{M}_ -]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** The relative targets of a page's links and images, as written (`file.md#anchor`, `#anchor`). */
function relativeLinks(markdown: string): string[] {
  // Inline code is not Markdown either.
  return [
    ...unfenced(markdown)
      .replace(/`[^`\n]*`/g, '')
      .matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g),
  ]
    .map((match) => match[1]!)
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target));
}

/** Why `target`, linked from the page at `from` (relative to `base`), does not resolve; undefined when it does. */
function deadLink(base: string, from: string, target: string, read = (path: string) => readFileSync(path, 'utf8')): string | undefined {
  const [path, anchor] = target.split('#', 2) as [string, string | undefined];
  const file = path === '' ? join(base, from) : join(base, dirname(from), decodeURIComponent(path));
  if (!existsSync(file)) return `${from}: ${target}: no file ${relative(base, file)}`;
  if (anchor === undefined || !file.endsWith('.md')) return undefined;
  if (!anchorsOf(read(file)).has(decodeURIComponent(anchor).toLowerCase())) {
    return `${from}: ${target}: no heading #${anchor} in ${relative(base, file)}`;
  }
  return undefined;
}

t.test('the anchors and links read from Markdown are the ones GitHub renders', async (t) => {
  const markdown = [
    '# Attack run (OWASP API Security Top 10)',
    '## Scale-out: 100,000 `pooled` tenants',
    '## Notes',
    '## Notes',
    '```sh',
    '# 1. not a heading',
    'see [inside a fence](nowhere.md)',
    '```',
    'See [a page](docs/a.md#x), ![an image](docs/b.png), [here](#notes-1), <https://example.com>,',
    '[an address](https://example.com/a.md) and `[inline code](nowhere.md)`.',
  ].join('\n');
  t.same([...anchorsOf(markdown)], ['attack-run-owasp-api-security-top-10', 'scale-out-100000-pooled-tenants', 'notes', 'notes-1']);
  t.same(relativeLinks(markdown), ['docs/a.md#x', 'docs/b.png', '#notes-1']);
});

t.test('a dead file or a dead anchor is reported', async (t) => {
  t.match(deadLink(root, 'README.md', 'docs/no-such-page.md'), /no file docs\/no-such-page\.md/);
  t.match(deadLink(root, 'README.md', '#no-such-heading'), /no heading #no-such-heading in README\.md/);
  t.match(deadLink(root, 'docs/scale-out.md', '../README.md#no-such-heading'), /no heading/);
  t.equal(deadLink(root, 'docs/scale-out.md', '../README.md#quick-start-60-seconds'), undefined);
});

t.test('every relative link and anchor in README.md and docs/*.md resolves', async (t) => {
  let checked = 0;
  for (const page of pages) {
    for (const target of relativeLinks(readFileSync(join(root, page), 'utf8'))) {
      checked++;
      const dead = deadLink(root, page, target);
      t.notOk(dead, dead ?? `${page}: ${target}`);
    }
  }
  t.ok(checked >= 40, `${checked} links checked across ${pages.length} pages`);
});
