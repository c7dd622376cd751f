import type { ExecutionRequest } from '../../shared/contract/executionRequest.js';
import { BUILT_FILES, PROGRAM_FILE, type Language } from '../../shared/contract/languages.js';
import type { Program, Runtime } from '../sandbox/SandboxProvider.js';

export const RUNTIME_OF: Record<Language, Runtime> = {
  python: 'python',
  javascript: 'node',
  typescript: 'node',
  bash: 'bash',
};

/**
 * Turns a request into a provider-neutral program. Nothing of the request
 * is parsed or built here, on the worker: TypeScript is transpiled inside
 * the job's own sandbox (see Program.transpile), under the job's limits.
 */
export function prepareProgram(request: ExecutionRequest): Program {
  const source = PROGRAM_FILE[request.language];
  const built = BUILT_FILES[request.language][0];
  return {
    runtime: RUNTIME_OF[request.language],
    entryFile: built ?? source,
    ...(built ? { transpile: { from: source } } : {}),
    source: request.code,
    stdin: request.stdin,
    args: request.args,
    env: request.env,
    files: request.files.map((f) => ({ path: f.path, content: Buffer.from(f.content, f.encoding === 'base64' ? 'base64' : 'utf8') })),
  };
}
