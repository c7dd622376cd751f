#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { loadConfig } from '../shared/config.js';
import { ConfigError } from '../shared/errors/ConfigError.js';
import { MissingPrerequisiteError } from '../shared/errors/MissingPrerequisiteError.js';
import { createLogger } from '../shared/logger.js';
import { printConfig } from './configCommand.js';
import { doctor } from './doctorCommand.js';
import { type Role, startService } from './startCommand.js';

const USAGE = `Usage: sandq <command> [--help]

Commands:
  start [all|api|worker]   run the API and a worker in one process (all, the default),
                           or one role against REDIS_URL
  doctor                   show which sandbox isolation features this host provides;
                           exits non-zero when jobs cannot be isolated here
  config                   print the effective configuration, secrets masked;
                           exits non-zero when it is invalid
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
  help: `Usage: sandq help [command]`,
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

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, options: { help: { type: 'boolean', short: 'h' } } });
  } catch (error) {
    // Node's message goes on about positionals after `--`; its first sentence names the option.
    const problem = (error as Error).message.split('. ')[0];
    const command = argv.find((arg) => !arg.startsWith('-'));
    const help = command && command in COMMAND_HELP ? `See \`sandq ${command} --help\`.` : SEE_HELP;
    process.stderr.write(`sandq: ${problem}. ${help}\n`);
    return 2;
  }
  const [command = 'help', ...rest] = parsed.positionals;
  if (parsed.values.help) {
    // `sandq --help` is the usage; `sandq <command> --help` that command's help.
    const about = parsed.positionals[0];
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
    case 'help':
      process.stdout.write(`${helpOf(rest[0])}\n`);
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
