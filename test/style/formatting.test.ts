/**
 * Every committed file Prettier formats is formatted (.prettierrc.json, .prettierignore): the
 * suite fails naming the files that are not, so `npm run format` before committing.
 */
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import * as prettier from 'prettier';
import t from 'tap';

const files = execFileSync('git', ['ls-files'], { encoding: 'utf8' }).split('\n').filter(Boolean);

t.test('every committed file is formatted as Prettier formats it', async (t) => {
  const unformatted: string[] = [];
  let checked = 0;
  for (const file of files) {
    const info = await prettier.getFileInfo(file, { ignorePath: '.prettierignore' });
    if (info.ignored || !info.inferredParser) continue;
    const options = await prettier.resolveConfig(file);
    checked++;
    if (!(await prettier.check(await readFile(file, 'utf8'), { ...options, filepath: file }))) unformatted.push(file);
  }
  t.ok(checked > 300, `${checked} files checked`);
  t.same(unformatted, [], 'run `npm run format` to format these');
});

t.test('the check can fail: a file written by hand out of shape is found', async (t) => {
  const options = await prettier.resolveConfig('src/app.ts');
  t.notOk(await prettier.check('const a = {b:1}\n', { ...options, filepath: 'x.ts' }));
  t.ok(await prettier.check('const a = { b: 1 };\n', { ...options, filepath: 'x.ts' }));
});
