import { parseArgs } from 'node:util';
import { errorMessage, isSwitchyardError } from '../errors.ts';
import type { Switchyard } from '../switchyard/create-switchyard.ts';
import type { DeadLetterEntry } from '../switchyard/dead-letter-admin.ts';
import { loadApp } from './load-app.ts';

/** Where the command line writes, and what it reads (a test passes its own). */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

/** Exit codes: 0 done, 1 failed (the message says why), 2 the command line was wrong. */
export const EXIT = Object.freeze({ ok: 0, failure: 1, usage: 2 });

export const USAGE = `Usage: switchyard <command> [options]

Commands:
  routes                                  print the routing table
  dead-letters list [--transport <t>] [--offset <n>] [--limit <n>]
                                          list dead letters, newest first (default limit 100)
  dead-letters count [--transport <t>]    count dead letters
  dead-letters replay <transport> <id>    send one dead letter again
  dead-letters replay --all [--transport <t>] [--limit <n>]
                                          send every dead letter again
  dead-letters purge <transport> <id>     delete one dead letter
  dead-letters purge <transport> --yes    delete every dead letter kept there

Options:
  --app <module>   the app module: its default export is what createSwitchyard(…) returns,
                   not started, or a (possibly async) function returning it
                   (default: the SWITCHYARD_APP environment variable)
  --json           print JSON instead of a table (routes, list, count)
  -h, --help       print this help
  -v, --version    print the version

Exit codes: 0 done, 1 failed, 2 wrong usage.
`;

class UsageError extends Error {}

const OPTIONS = {
  app: { type: 'string' },
  transport: { type: 'string' },
  limit: { type: 'string' },
  offset: { type: 'string' },
  all: { type: 'boolean' },
  yes: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

/**
 * The `switchyard` command line: `routes`, `dead-letters list|count|replay|purge`. Loads the app
 * module, runs one command, closes the app; resolves with the exit code. Never throws.
 */
export async function runCli(argv: readonly string[], io: CliIo, version = '0.0.0'): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    io.stderr(`switchyard: ${errorMessage(error)}\n\n${USAGE}`);
    return EXIT.usage;
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    io.stdout(USAGE);
    return EXIT.ok;
  }
  if (values.version === true) {
    io.stdout(`${version}\n`);
    return EXIT.ok;
  }
  let command: () => Promise<void>;
  let app: Switchyard | undefined;
  try {
    command = commandOf(positionals, values, io, () => app!);
  } catch (error) {
    io.stderr(`switchyard: ${errorMessage(error)}\n\n${USAGE}`);
    return EXIT.usage;
  }
  const specifier = values.app ?? io.env.SWITCHYARD_APP;
  if (specifier === undefined || specifier === '') {
    io.stderr('switchyard: give the app module with --app <module> or SWITCHYARD_APP\n');
    return EXIT.usage;
  }
  let code: number = EXIT.ok;
  try {
    app = await loadApp(specifier, io.cwd);
    await command();
  } catch (error) {
    io.stderr(`switchyard: ${describe(error)}\n`);
    code = EXIT.failure;
  }
  if (app !== undefined) {
    try {
      await app.close();
    } catch (error) {
      io.stderr(`switchyard: closing the app failed: ${describe(error)}\n`);
      code = EXIT.failure;
    }
  }
  return code;
}

function parse(argv: readonly string[]) {
  return parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
}

type Values = ReturnType<typeof parse>['values'];

function describe(error: unknown): string {
  const text = isSwitchyardError(error) ? `${errorMessage(error)} (${error.code})` : errorMessage(error);
  if (error instanceof AggregateError && error.errors.length > 0) {
    return `${text}\n${error.errors.map((inner) => `  - ${describe(inner)}`).join('\n')}`;
  }
  return text;
}

/** The command to run, checked before the app is loaded (a usage error exits 2 at once). */
function commandOf(
  positionals: readonly string[],
  values: Values,
  io: CliIo,
  app: () => Switchyard,
): () => Promise<void> {
  const [group, action, ...rest] = positionals;
  const count = (name: 'limit' | 'offset'): number | undefined => {
    const text = values[name];
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!Number.isInteger(value) || value < 0)
      throw new UsageError(`--${name} must be a whole number, got "${text}"`);
    return value;
  };
  const none = (what: string, extra: readonly string[]): void => {
    if (extra.length > 0) throw new UsageError(`${what} takes no more arguments, got "${extra.join(' ')}"`);
  };
  if (group === undefined) throw new UsageError('give a command');
  if (group === 'routes') {
    none('routes', [action, ...rest].filter((x) => x !== undefined) as string[]);
    return async () => printRoutes(app(), values.json === true, io);
  }
  if (group !== 'dead-letters') throw new UsageError(`unknown command "${group}"`);
  const transport = values.transport;
  switch (action) {
    case 'list': {
      none('dead-letters list', rest);
      const limit = count('limit');
      const offset = count('offset');
      return async () => {
        const letters = await app().deadLetters.list({ transport, limit, offset });
        if (values.json === true) io.stdout(`${JSON.stringify(letters.map(toJson), null, 2)}\n`);
        else printLetters(letters, app().deadLetters.transports, io);
      };
    }
    case 'count': {
      none('dead-letters count', rest);
      return async () => {
        const total = await app().deadLetters.count(transport);
        io.stdout(values.json === true ? `${JSON.stringify({ count: total })}\n` : `${total}\n`);
      };
    }
    case 'replay': {
      if (values.all === true) {
        none('dead-letters replay --all', rest);
        const limit = count('limit');
        return async () => {
          const replayed = await app().deadLetters.replayAll({ transport, limit });
          io.stdout(`replayed ${replayed} dead letter(s)\n`);
        };
      }
      const [where, id, ...extra] = rest;
      if (where === undefined || id === undefined) {
        throw new UsageError('dead-letters replay needs <transport> <id>, or --all');
      }
      none('dead-letters replay <transport> <id>', extra);
      return async () => {
        if (!(await app().deadLetters.replay(where, id))) {
          throw new Error(`no dead letter ${id} on "${where}"`);
        }
        io.stdout(`replayed ${id} from ${where}\n`);
      };
    }
    case 'purge': {
      const [where, id, ...extra] = rest;
      if (where === undefined) throw new UsageError('dead-letters purge needs <transport> [<id>]');
      none('dead-letters purge <transport> [<id>]', extra);
      if (id === undefined && values.yes !== true) {
        throw new UsageError(`dead-letters purge ${where} deletes every dead letter kept there: add --yes`);
      }
      return async () => {
        const purged = await app().deadLetters.purge(where, id);
        if (id !== undefined && purged === 0) throw new Error(`no dead letter ${id} on "${where}"`);
        io.stdout(`purged ${purged} dead letter(s) from ${where}\n`);
      };
    }
    case undefined:
      throw new UsageError('dead-letters needs list, count, replay or purge');
    default:
      throw new UsageError(`unknown dead-letters command "${action}"`);
  }
}

function toJson(letter: DeadLetterEntry) {
  const { envelope, failedAt, ...rest } = letter;
  return {
    ...rest,
    failedAt: failedAt?.toISOString(),
    ...(envelope === undefined || letter.message !== undefined
      ? {}
      : { envelope: typeof envelope === 'string' ? envelope : Buffer.from(envelope).toString('base64') }),
  };
}

function printRoutes(app: Switchyard, json: boolean, io: CliIo): void {
  if (json) {
    io.stdout(`${JSON.stringify(app.routing, null, 2)}\n`);
    return;
  }
  const rows = app.routing.map((row) => [row.message, row.kind, row.transport, row.adapter, row.role]);
  io.stdout(table(['MESSAGE', 'KIND', 'TRANSPORT', 'ADAPTER', 'THIS PROCESS'], rows));
  if (app.deadLetters.sink !== undefined) io.stdout(`\ndead letters go to: ${app.deadLetters.sink}\n`);
}

function printLetters(letters: readonly DeadLetterEntry[], kept: readonly string[], io: CliIo): void {
  if (letters.length === 0) {
    io.stdout(`no dead letters (kept on: ${kept.length === 0 ? 'none' : kept.join(', ')})\n`);
    return;
  }
  const rows = letters.map((letter) => [
    letter.transport,
    letter.id,
    letter.name,
    `${letter.origin.transport} (${letter.origin.kind})`,
    String(letter.attempts),
    letter.failedAt?.toISOString() ?? '-',
    clip(letter.error.replaceAll('\n', ' '), 100),
  ]);
  io.stdout(table(['TRANSPORT', 'ID', 'NAME', 'ORIGIN', 'ATTEMPTS', 'FAILED AT', 'ERROR'], rows));
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!)))
      .join('  ');
  return `${[header, ...rows].map(line).join('\n')}\n`;
}
