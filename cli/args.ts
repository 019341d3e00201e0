// Argument parsing shared by every command: node's util.parseArgs plus a --help text per command.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadConfig, type Config } from '../common/config';
import { createLogger, LOG_FORMATS, type LogFormat, type Logger } from '../common/logger';
import { EXIT_OK, EXIT_USAGE, UsageError } from './errors';

export interface CommandSpec<O extends NonNullable<ParseArgsConfig['options']>> {
  usage: string;
  help: string;
  options: O;
  positionals?: boolean;
}

export function parseCommand<O extends NonNullable<ParseArgsConfig['options']>>(spec: CommandSpec<O>, argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      options: { ...spec.options, help: { type: 'boolean', short: 'h' }, verbose: { type: 'boolean' } },
      allowPositionals: spec.positionals ?? false,
      strict: true,
    });
  } catch (err) {
    throw new UsageError(`${(err as Error).message.split('\n')[0]} (usage: ${spec.usage})`);
  }
}

export function requireConfig(file: string | undefined, usage: string): Config {
  if (!file) throw new UsageError(`missing --config <file> (usage: ${usage})`);
  return loadConfig(file);
}

export function printHelp(spec: { usage: string; help: string }): void {
  process.stdout.write(`Usage: ${spec.usage}\n\n${spec.help.trim()}\n`);
}

/** `--log-format` of the service commands: readable lines on a terminal, JSON lines otherwise. */
export const logFormatOption = { 'log-format': { type: 'string' } } as const;
export const LOG_FORMAT_HELP = '  --log-format <f>  pretty (one readable line per record) or json; default: pretty on a terminal, else json';

export function serviceLogger(name: string, format: string | undefined): Logger {
  if (format !== undefined && !LOG_FORMATS.includes(format as LogFormat)) throw new UsageError(`--log-format must be ${LOG_FORMATS.join(' or ')}, not '${format}'`);
  return createLogger(name, { format: format as LogFormat | undefined });
}

/** A command with sub-commands (`logs verify`, `audit timeline`): runs the one named, or prints the help. */
export async function runSubcommand(group: string, subcommands: Record<string, (argv: string[]) => Promise<number>>, help: string, argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const run = name && Object.hasOwn(subcommands, name) ? subcommands[name] : undefined;
  if (run) return run(rest);
  const text = `Usage: qlik-audit ${group} <command>\n\nCommands:\n${help}`;
  if (name === '--help' || name === '-h') return process.stdout.write(text), EXIT_OK;
  process.stderr.write(`qlik-audit ${group}: ${name ? `unknown command '${name}'` : 'missing command'}\n${text}`);
  return EXIT_USAGE;
}

/** A time option as an ISO instant; dates and times without a zone are UTC. */
export function instant(option: string, text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const zoned = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(text) ? `${text}Z` : text;
  const ms = Date.parse(zoned);
  if (!Number.isFinite(ms)) throw new UsageError(`--${option} '${text}': expected a date or time such as 2026-11-01 or 2026-11-01T08:00:00Z`);
  return new Date(ms).toISOString();
}
