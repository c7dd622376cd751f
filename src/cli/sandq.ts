#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { loadConfig } from '../shared/config.js';
import { ConfigError } from '../shared/errors/ConfigError.js';
import { MissingPrerequisiteError } from '../shared/errors/MissingPrerequisiteError.js';
import { createLogger } from '../shared/logger.js';
import { printConfig } from './configCommand.js';
import { doctor } from './doctorCommand.js';
import { INSTALL_OPTIONS, languages, LIST_OPTIONS } from './languagesCommand.js';
import { type Role, startService } from './startCommand.js';

const USAGE = `Usage: sandq <command> [--help]

Commands:
  start [all|api|worker]   run the API and a worker in one process (all, the default),
                           or one role against REDIS_URL
  doctor                   show which sandbox isolation features this host provides;
                           exits non-zero when jobs cannot be isolated here
  config                   print the effective configuration, secrets masked;
                           exits non-zero when it is invalid
  languages list|install   list the defined languages and whether their toolchains
                           are installed here, or install them with apt-get
  help [command]           show this text, or a command's

Configuration comes from environment variables: sandq config shows them, docs/configuration.md explains each.`;

/** `sandq <command> --help`. */
const COMMAND_HELP: Record<string, string> = {
  start: `Usage: sandq start [all|api|worker]

  all      the API and a worker in one process (the default). Without REDIS_URL
           it runs a private redis-server of its own, its data gone on exit.
  api      the HTTP API only, against REDIS_URL
  worker   a worker only, against REDIS_URL

Ctrl-C (SIGINT) or SIGTERM stops it: the API first, then running executions get
SHUTDOWN_GRACE_MS to finish before they are handed back to the queue, then the
private redis-server. A second signal exits at once.`,
  doctor: `Usage: sandq doctor

Starts the local sandbox provider as a worker would and prints the isolation it
gets on this host: bubblewrap, namespaces, identities, seccomp, cgroups.
Exits 1 when jobs cannot be isolated here.`,
  config: `Usage: sandq config

Prints every setting as NAME = value (source), the source being the environment
or the default. WEBHOOK_SECRET, ADMIN_PASSWORD and E2B_API_KEY are masked, and
API_KEYS shows the key names only. Exits 2 with the problems when the
configuration is invalid.`,
  languages: `Usage: sandq languages [list|install] …

  list                       every defined language and whether its toolchain is
                             installed on this host (the default)
  install <language…>|--all  install the toolchains with apt-get

\`sandq languages list --help\` and \`sandq languages install --help\` say more.`,
  'languages list': `Usage: sandq languages list [--json]

One line per defined language (the built-in ones and LANGUAGES_FILE's,
narrowed to ENABLED_LANGUAGES): its name, aliases, whether it is compiled,
whether its toolchain is installed on this host (every program its commands
name is an executable under /usr, the host tree the sandbox sees) and the
Debian packages that install it. A worker offers an installed language once
its version command answers inside a sandbox.

  --json   the same as a JSON array, for scripts`,
  'languages install': `Usage: sandq languages install <language…> | --all [--dry-run]

Installs what the named languages (names or aliases), or every defined one,
need: the Debian packages of their definitions that dpkg does not have
installed yet, by apt-get update and apt-get install -y --no-install-recommends,
through sudo unless run as root. Exits 0 when every language's programs are
then found (at once when no package was missing), 1 when apt-get fails, a
program is still missing after, or this host has no apt-get (it then prints
the packages to install), 2 for a language that is not defined.

  --all       every defined language
  --dry-run   print the apt-get commands instead of running them`,
  help: `Usage: sandq help [command]`,
};

/** Options beyond --help, per command: node:util's parseArgs refuses any other. */
const COMMAND_OPTIONS: Record<string, typeof LIST_OPTIONS | typeof INSTALL_OPTIONS> = {
  languages: LIST_OPTIONS,
  'languages list': LIST_OPTIONS,
  'languages install': INSTALL_OPTIONS,
};

/** A signal this soon after the first is the same one relayed, not an operator asking to force the stop. */
const REPEATED_SIGNAL_MS = 1000;

const SEE_HELP = 'See `sandq --help`.';

async function start(role: Role): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL, { role });
  const service = await startService(role, config, logger);
  if (service.api) {
    const base = `http://${config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST}:${service.api.port}`;
    const auth = config.API_KEYS ? ` -H 'Authorization: Bearer <one of API_KEYS>'` : '';
    process.stderr.write(`\nsandq is running (${role}). Try:\n  curl -s ${base}/v1/executions${auth} -H 'Content-Type: application/json' -d '{"language":"python","code":"print(6*7)"}'\nAPI docs: ${base}/docs\nStop with Ctrl-C.\n\n`);
  }

  let stoppingSince: number | undefined;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stoppingSince !== undefined) {
      // Under `npm start` one Ctrl-C arrives more than once: from the terminal, and relayed by npm and tsx.
      if (Date.now() - stoppingSince < REPEATED_SIGNAL_MS) return;
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(130);
    }
    stoppingSince = Date.now();
    logger.info({ signal }, 'shutting down; running executions finish first (send the signal again to force)');
    service.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

function helpOf(command: string | undefined): string {
  return (command && COMMAND_HELP[command]) || USAGE;
}

/** The command that words name: `languages install` of `languages install c`, `start` of `start all`. */
function commandOf(words: readonly string[]): string | undefined {
  const two = words.slice(0, 2).join(' ');
  return two in COMMAND_HELP ? two : words[0];
}

async function main(argv: string[]): Promise<number> {
  const named = commandOf(argv.filter((arg) => !arg.startsWith('-')));
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, options: { help: { type: 'boolean', short: 'h' }, ...(named && COMMAND_OPTIONS[named]) } });
  } catch (error) {
    // Node's message goes on about positionals after `--`; its first sentence names the option.
    const problem = (error as Error).message.split('. ')[0];
    const help = named && named in COMMAND_HELP ? `See \`sandq ${named} --help\`.` : SEE_HELP;
    process.stderr.write(`sandq: ${problem}. ${help}\n`);
    return 2;
  }
  const [command = 'help', ...rest] = parsed.positionals;
  if (parsed.values.help) {
    // `sandq --help` is the usage; `sandq <command> --help` that command's help.
    const about = commandOf(parsed.positionals);
    if (about !== undefined && !(about in COMMAND_HELP)) {
      process.stderr.write(`Unknown command "${about}". ${SEE_HELP}\n`);
      return 2;
    }
    process.stdout.write(`${helpOf(about)}\n`);
    return 0;
  }
  switch (command) {
    case 'start': {
      const role = rest[0] ?? 'all';
      if (role !== 'all' && role !== 'api' && role !== 'worker') {
        process.stderr.write(`Unknown role "${role}".\n\n${COMMAND_HELP.start}\n`);
        return 2;
      }
      await start(role);
      return -1;
    }
    case 'doctor':
      return await doctor(loadConfig());
    case 'config':
      return printConfig();
    case 'languages':
      return languages(rest, parsed.values, loadConfig());
    case 'help':
      process.stdout.write(`${helpOf(commandOf(rest))}\n`);
      return 0;
    default:
      process.stderr.write(`Unknown command "${command}". ${SEE_HELP}\n\n${USAGE}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: unknown) => {
    if (error instanceof ConfigError) {
      process.stderr.write(`sandq: ${error.message}\nFix these environment variables and start again.\n`);
      process.exit(2);
    }
    if (error instanceof MissingPrerequisiteError) {
      process.stderr.write(`sandq: ${error.message}\n`);
      process.exit(1);
    }
    process.stderr.write(`sandq: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
