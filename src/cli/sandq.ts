#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { loadConfig } from '../shared/config.js';
import { ConfigError } from '../shared/errors/ConfigError.js';
import { MissingPrerequisiteError } from '../shared/errors/MissingPrerequisiteError.js';
import { createLogger } from '../shared/logger.js';
import { doctor } from './doctorCommand.js';
import { type Role, startService } from './startCommand.js';

const USAGE = `Usage: sandq <command>

Commands:
  start [all|api|worker]   run the API and a worker in one process (all, the default),
                           or one role against REDIS_URL
  doctor                   show which sandbox isolation features this host provides;
                           exits non-zero when jobs cannot be isolated here
  help                     show this text

Configuration comes from environment variables; see the README.`;

async function start(role: Role): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL, { role });
  const service = await startService(role, config, logger);
  if (service.api) {
    const base = `http://${config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST}:${service.api.port}`;
    const auth = config.API_KEYS ? ` -H 'Authorization: Bearer <one of API_KEYS>'` : '';
    process.stderr.write(`\nsandq is running (${role}). Try:\n  curl -s ${base}/v1/executions${auth} -H 'Content-Type: application/json' -d '{"language":"python","code":"print(6*7)"}'\nAPI docs: ${base}/docs\nStop with Ctrl-C.\n\n`);
  }

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(130);
    }
    stopping = true;
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

async function main(argv: string[]): Promise<number> {
  const { positionals } = parseArgs({ args: argv, allowPositionals: true, strict: true });
  const [command = 'help', ...rest] = positionals;
  switch (command) {
    case 'start': {
      const role = rest[0] ?? 'all';
      if (role !== 'all' && role !== 'api' && role !== 'worker') {
        process.stderr.write(`Unknown role "${role}". ${USAGE}\n`);
        return 2;
      }
      await start(role);
      return -1;
    }
    case 'doctor':
      return await doctor(loadConfig());
    case 'help':
    case '--help':
      process.stdout.write(`${USAGE}\n`);
      return 0;
    default:
      process.stderr.write(`Unknown command "${command}".\n\n${USAGE}\n`);
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
