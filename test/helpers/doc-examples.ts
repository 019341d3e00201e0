// The shell examples of the README and docs/, as a reader copies them: every ```sh block, with the
// file and line it starts at. The conventions a block may use (docs/development.md):
//   - `NAME=value   # site: …`  a value the reader sets to their own (the test sets the demo's);
//   - `# exits N`               in a command's comment: the exit status it is documented to have
//                               (and a "quoted text" after it: what its output must contain);
//   - `qlik-audit worker|receiver|serve|codec-server`: a service, which runs until Ctrl-C.
// Code blocks use one of LANGUAGES: a `bash` or `console` block would silently not be run.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '../..');
export const DOC_FILES = ['README.md', ...readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];

/** A code fence line (CommonMark: the fence and an info string only); group 1 is the language. */
export const FENCE = /^\s*```\s*([\w-]*)\s*$/;

/** The code block languages the docs may use ('' is program output). */
export const LANGUAGES = new Set(['sh', 'text', 'yaml', 'json', 'sql', 'nginx', '']);

export interface ShellBlock {
  file: string;
  /** 1-based line of the block's first line (after the fence). */
  line: number;
  text: string;
}

export function shellBlocks(files = DOC_FILES): ShellBlock[] {
  const blocks: ShellBlock[] = [];
  for (const file of files) {
    const lines = readFileSync(path.join(ROOT, file), 'utf8').split('\n');
    let open: { line: number; lang: string; body: string[] } | undefined;
    lines.forEach((raw, i) => {
      const fence = FENCE.exec(raw); // ~~~ fences are not used:
      if (/^\s*~~~/.test(raw)) throw new Error(`${file}:${i + 1}: use a \`\`\` fence, not ~~~`);
      if (fence && !open) {
        if (!LANGUAGES.has(fence[1] ?? '')) throw new Error(`${file}:${i + 1}: code block language '${fence[1]}' (use one of: ${[...LANGUAGES].filter(Boolean).join(', ')}, or none for output)`);
        open = { line: i + 2, lang: fence[1] ?? '', body: [] };
      } else if (fence && open) {
        if (open.lang === 'sh') blocks.push({ file, line: open.line, text: dedent(open.body).join('\n') });
        open = undefined;
      } else open?.body.push(raw);
    });
  }
  return blocks;
}

function dedent(lines: string[]): string[] {
  const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => /^ */.exec(l)?.[0].length ?? 0));
  return lines.map((l) => l.slice(indent));
}

/** A command line split into its code and its comment (a `#` outside quotes); `open` when a quote is left open. */
function split(line: string): { code: string; comment: string; open: boolean } {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '\\' && quote !== "'") i++; // an escaped character (nothing is escaped inside '…')
    else if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1] ?? ''))) return { code: line.slice(0, i).trimEnd(), comment: line.slice(i + 1).trim(), open: false };
  }
  return { code: line.trimEnd(), comment: '', open: quote !== undefined };
}

export const commentOf = (line: string) => split(line).comment;

/**
 * The block's commands, one per line, when each line is a whole command (no continuation, quotes
 * closed on the line); undefined when the block is one script (it is then run as a whole).
 */
export function commandLines(block: ShellBlock): { command: string; line: number }[] | undefined {
  const lines = block.text.split('\n');
  const out: { command: string; line: number }[] = [];
  for (const [i, raw] of lines.entries()) {
    if (!raw.trim() || raw.trim().startsWith('#')) continue;
    const { code, open } = split(raw);
    if (open || code.endsWith('\\')) return undefined;
    if (/^[A-Z_]+=\S*$/.test(code)) return undefined; // sets variables for the lines after it
    out.push({ command: raw, line: block.line + i });
  }
  return out;
}

/** The exit status a command is documented to have (`# exits N`, 0 otherwise) and the text its output must hold. */
export function expectedExit(command: string): { status: number; saying?: string } {
  const documented = /\bexits (\d+)\b(?:[^"]*"([^"]+)")?/.exec(commentOf(command));
  return { status: Number(documented?.[1] ?? 0), saying: documented?.[2] };
}

/** A service command (runs until Ctrl-C). */
export const isService = (command: string) => /\bqlik-audit (worker|receiver|serve|codec-server|dev)\b/.test(split(command).code);

/** The block with each `NAME=…  # site:` line set to `values[NAME]`; throws on a site variable not given. */
export function withSiteValues(block: ShellBlock, values: Record<string, string>): string {
  return block.text
    .split('\n')
    .map((raw, i) => {
      const site = /^([A-Z_]+)=.*#\s*site:/.exec(raw);
      if (!site) return raw;
      const name = site[1] as string;
      if (!(name in values)) throw new Error(`${block.file}:${block.line + i}: site variable ${name} has no demo value in the test`);
      return `${name}='${(values[name] as string).replace(/'/g, `'\\''`)}'`;
    })
    .join('\n');
}
