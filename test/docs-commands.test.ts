// The docs name only commands and options that exist: every `qlik-audit …` the README and docs/ show
// (in code spans and code blocks, usage forms with placeholders included) is looked up in the real
// command's --help — its command, its subcommand, each --option it uses. (Every ```sh block is also
// run as written, against `npm start`: test/dev-stack.test.ts.)
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { runCli } from './helpers/cli';
import { DOC_FILES as DOCS, FENCE, ROOT } from './helpers/doc-examples';

/** Every `qlik-audit …` of the docs, as written, with where it is. */
function documentedCommands(): { line: string; where: string }[] {
  const found: { line: string; where: string }[] = [];
  for (const file of DOCS) {
    const text = readFileSync(path.join(ROOT, file), 'utf8');
    let fenced = false;
    text.split('\n').forEach((raw, i) => {
      if (FENCE.test(raw)) fenced = !fenced;
      const where = `${file}:${i + 1}`;
      if (fenced) {
        const m = /^\s*(?:\$\s*)?(?:[A-Z_]+=\S+\s+)*(?:npx\s+)?(qlik-audit \S.*?)(?:\s+#.*)?$/.exec(raw);
        if (m) found.push({ line: m[1] as string, where });
      }
      for (const span of raw.matchAll(/`(qlik-audit [^`]+)`/g)) found.push({ line: span[1] as string, where });
    });
  }
  return found;
}

test('every qlik-audit command and option the docs show exists, as its --help says', async () => {
  const commands = documentedCommands();
  assert.ok(commands.length >= 30, `docs name commands (${commands.length})`);
  const helps = new Map<string, Promise<{ status: number | null; stdout: string; stderr: string }>>();
  const help = (words: string[]) => {
    const key = words.join(' ');
    if (!helps.has(key)) helps.set(key, runCli([...words, '--help']));
    return helps.get(key) as Promise<{ status: number | null; stdout: string; stderr: string }>;
  };
  const top = await help([]);
  const problems: string[] = [];
  for (const { line, where } of commands) {
    const words = line.replace(/\\$/, '').split(/\s+/).slice(1);
    const command = words[0] ?? '';
    if (!/^[a-z][a-z-]*$/.test(command)) continue; // prose such as `qlik-audit <command>`
    if (!new RegExp(`^\\s+${command}\\s`, 'm').test(top.stdout)) {
      problems.push(`${where}: '${line}': no command '${command}' in qlik-audit --help`);
      continue;
    }
    let path = [command];
    const second = words[1];
    const commandHelp = await help(path);
    if (second && /^[a-z][a-z-]*$/.test(second) && new RegExp(`^\\s+${second}\\s`, 'm').test(commandHelp.stdout + commandHelp.stderr)) path = [command, second];
    const usage = await help(path);
    if (usage.status !== 0) {
      problems.push(`${where}: '${line}': qlik-audit ${path.join(' ')} --help exits ${usage.status}`);
      continue;
    }
    for (const option of words.filter((w) => /^--[a-z]/.test(w)).map((w) => w.replace(/[=[\]].*$/, ''))) {
      if (!usage.stdout.includes(option)) problems.push(`${where}: '${line}': qlik-audit ${path.join(' ')} has no ${option}`);
    }
  }
  // And the other way: what --help points a reader to is there (sections moved from the README to docs/).
  for (const [key, text] of helps) {
    const { stdout } = await text;
    for (const doc of stdout.match(/docs\/[\w-]+\.md/g) ?? []) if (!existsSync(path.join(ROOT, doc))) problems.push(`qlik-audit ${key} --help names ${doc}, which does not exist`);
    if (/\bREADME\b(?!\.txt)/.test(stdout)) problems.push(`qlik-audit ${key} --help points at a README section; the README has moved its sections to docs/`);
  }
  assert.deepEqual(problems, []);
});

test('every link of the README and docs/ leads somewhere: the file exists, and an #anchor is one of its headings', () => {
  // GitHub's heading anchors: lower case, punctuation dropped (letters of any script kept), spaces to '-'.
  const slug = (heading: string) => heading.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').trim().replace(/\s/g, '-');
  const headings = (file: string) => new Set(readFileSync(file, 'utf8').split('\n').filter((l) => /^#{1,6} /.test(l)).map((l) => slug(l.replace(/^#+ /, ''))));
  const broken: string[] = [];
  let links = 0;
  for (const file of DOCS) {
    for (const [, target] of readFileSync(path.join(ROOT, file), 'utf8').matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target as string)) continue; // http(s), mailto: not checked offline
      links++;
      const [relative, anchor] = (target as string).split('#');
      const resolved = relative ? path.join(ROOT, path.dirname(file), relative) : path.join(ROOT, file);
      if (!existsSync(resolved)) broken.push(`${file}: (${target}): no such file`);
      else if (anchor && resolved.endsWith('.md') && !headings(resolved).has(anchor)) broken.push(`${file}: (${target}): no heading with that anchor`);
    }
  }
  assert.ok(links >= 20, `links checked (${links})`);
  assert.deepEqual(broken, []);
});
