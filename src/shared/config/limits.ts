import { positiveInt } from './types.js';
import { setting, settingGroup } from './setting.js';

/** Each pair is a request field's default and the most a request may ask for; names and units mirror `limits.*`. */
export const limitSettings = settingGroup(
  'Sandbox limits',
  'The default and the maximum of each request field `limits.*`, in the field\'s own unit; a request above the maximum is a `400`, never clamped.',
  {
    TIMEOUT_MS_DEFAULT: setting(positiveInt.default(10_000), { unit: 'ms', description: '`limits.timeoutMs` when a request has none.' }),
    TIMEOUT_MS_MAX: setting(positiveInt.default(60_000), { unit: 'ms', description: 'The largest `limits.timeoutMs` (raising it? raise the worker\'s stop timeout too).' }),
    MEMORY_MB_DEFAULT: setting(positiveInt.default(256), { unit: 'MiB', description: '`limits.memoryMb` when a request has none.' }),
    MEMORY_MB_MAX: setting(positiveInt.default(2048), { unit: 'MiB', description: 'The largest `limits.memoryMb`.' }),
    MAX_PROCESSES_DEFAULT: setting(positiveInt.default(64), { description: '`limits.maxProcesses` (processes and threads) when a request has none.' }),
    MAX_PROCESSES_MAX: setting(positiveInt.default(512), { description: 'The largest `limits.maxProcesses`.' }),
    MAX_OUTPUT_BYTES_DEFAULT: setting(positiveInt.default(1024 * 1024), { unit: 'bytes', description: '`limits.maxOutputBytes`, per stream, when a request has none.' }),
    MAX_OUTPUT_BYTES_MAX: setting(positiveInt.default(16 * 1024 * 1024), { unit: 'bytes', description: 'The largest `limits.maxOutputBytes`.' }),
    MAX_TEST_CASES: setting(positiveInt.default(64), { description: 'The most test cases (`tests`) one request may hold.' }),
    CPU_TIME_MS_DEFAULT: setting(positiveInt.default(10_000), { unit: 'ms', description: '`limits.cpuTimeMs` (CPU time of all the job\'s processes) when a request has none.' }),
    CPU_TIME_MS_MAX: setting(positiveInt.default(60_000), { unit: 'ms', description: 'The largest `limits.cpuTimeMs`.' }),
    MAX_OPEN_FILES_DEFAULT: setting(positiveInt.default(1024), { description: '`limits.maxOpenFiles` (per process, RLIMIT_NOFILE) when a request has none.' }),
    MAX_OPEN_FILES_MAX: setting(positiveInt.default(65_536), { description: 'The largest `limits.maxOpenFiles`.' }),
    MAX_FILE_BYTES_DEFAULT: setting(positiveInt.default(64 * 1024 * 1024), { unit: 'bytes', description: '`limits.maxFileBytes` (the largest file the program may write, RLIMIT_FSIZE) when a request has none.' }),
    MAX_FILE_BYTES_MAX: setting(positiveInt.default(1024 * 1024 * 1024), { unit: 'bytes', description: 'The largest `limits.maxFileBytes`.' }),
  },
);

/** The pairs above, checked together: a default may not exceed its maximum. */
export const LIMIT_PAIRS = [
  ['TIMEOUT_MS_DEFAULT', 'TIMEOUT_MS_MAX'],
  ['MEMORY_MB_DEFAULT', 'MEMORY_MB_MAX'],
  ['MAX_PROCESSES_DEFAULT', 'MAX_PROCESSES_MAX'],
  ['MAX_OUTPUT_BYTES_DEFAULT', 'MAX_OUTPUT_BYTES_MAX'],
  ['CPU_TIME_MS_DEFAULT', 'CPU_TIME_MS_MAX'],
  ['MAX_OPEN_FILES_DEFAULT', 'MAX_OPEN_FILES_MAX'],
  ['MAX_FILE_BYTES_DEFAULT', 'MAX_FILE_BYTES_MAX'],
] as const;
