import { transform } from 'esbuild';
import type { ExecutionRequest } from '../../shared/contract/executionRequest.js';
import { PROGRAM_FILE, type Language } from '../../shared/contract/languages.js';
import type { Program, Runtime } from '../sandbox/SandboxProvider.js';

export const RUNTIME_OF: Record<Language, Runtime> = {
  python: 'python',
  javascript: 'node',
  typescript: 'node',
  bash: 'bash',
};

/** The program could not be built (a TypeScript syntax error): the user's failure, not ours. */
export interface BuildFailure {
  message: string;
}

/**
 * Turns a request into a provider-neutral program. TypeScript is transpiled
 * here, on the worker, with esbuild (types are stripped, not checked) and then
 * runs on node like JavaScript; esbuild only parses the code, never runs it.
 */
export async function prepareProgram(request: ExecutionRequest): Promise<Program | BuildFailure> {
  let source = request.code;
  if (request.language === 'typescript') {
    try {
      source = (await transform(request.code, { loader: 'ts', sourcefile: 'main.ts', target: 'node20' })).code;
    } catch (error) {
      return { message: (error as Error).message };
    }
  }
  return {
    runtime: RUNTIME_OF[request.language],
    entryFile: PROGRAM_FILE[request.language],
    source,
    stdin: request.stdin,
    args: request.args,
    env: request.env,
    files: request.files.map((f) => ({ path: f.path, content: Buffer.from(f.content, f.encoding === 'base64' ? 'base64' : 'utf8') })),
  };
}

export function isBuildFailure(value: Program | BuildFailure): value is BuildFailure {
  return 'message' in value && !('runtime' in value);
}
