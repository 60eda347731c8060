// `quari` command line: the engine without Electron. Each subcommand lives in its own module; this file only dispatches.
import { UsageError, type Command } from './args.ts';
import { caseCommand } from './caseCommand.ts';
import { dupesCommand } from './dupesCommand.ts';
import { evalCommand } from './evalCommand.ts';
import { EXIT, EXIT_CODES_HELP } from './exitCodes.ts';
import { hashsetCommand } from './hashsetCommand.ts';
import { hypernetCommand } from './hypernetCommand.ts';
import { indexCommand } from './indexCommand.ts';
import { ingestCommand } from './ingestCommand.ts';
import { packCommand } from './packCommand.ts';
import { searchCommand } from './searchCommand.ts';
import { statsCommand } from './statsCommand.ts';
import { terminalSafe } from './terminal.ts';

const COMMANDS: Record<string, Command> = {
  ingest: ingestCommand,
  stats: statsCommand,
  dupes: dupesCommand,
  search: searchCommand,
  index: indexCommand,
  eval: evalCommand,
  hypernet: hypernetCommand,
  pack: packCommand,
  hashset: hashsetCommand,
  case: caseCommand,
};

const USAGE = `quari — offline image search with query-adaptive retrieval (QuARI)

Usage: quari <command> [options]

Commands:
${Object.values(COMMANDS)
  .map((c) => `  ${c.synopsis}`)
  .join('\n')}

Run "quari <command> --help" for the options of one command.

${EXIT_CODES_HELP}`;

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(USAGE);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`quari: unknown command "${terminalSafe(name)}"\n\n${USAGE}`);
    return EXIT.usage;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`quari ${name}: ${terminalSafe(err.message)}\n\n${command.usage}`);
      return EXIT.usage;
    }
    console.error(`quari ${name}: ${terminalSafe((err as Error).message)}`);
    if (process.env.QUARI_DEBUG) console.error((err as Error).stack);
    return EXIT.error;
  }
}
