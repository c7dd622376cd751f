import type { ExecutionRequest } from '../../shared/contract/executionRequest.js';
import { caseOutputBytes } from '../../shared/contract/testCases.js';
import type { LanguageDefinition } from '../../shared/languages/languageDefinition.js';
import type { Program } from '../sandbox/SandboxProvider.js';

/**
 * Turns a request into a provider-neutral program, from its language's
 * definition. Nothing of the request is parsed or built here, on the worker:
 * TypeScript is transpiled and compiled languages are compiled inside the
 * job's own sandbox (Program.transpile, Program.compile), under its limits.
 */
export function prepareProgram(request: ExecutionRequest, language: LanguageDefinition): Program {
  const { limits } = request;
  const built = language.transpiler ? language.builtFiles[0] : undefined;
  return {
    runtime: language.launcher,
    entryFile: built ?? language.sourceFile,
    command: language.run,
    ...(built ? { transpile: { from: language.sourceFile } } : {}),
    ...(language.compile
      ? {
          compile: {
            command: language.compile,
            // The compiler's time, wall or CPU, is compileTimeoutMs.
            limits: { ...limits, timeoutMs: limits.compileTimeoutMs, cpuTimeMs: limits.compileTimeoutMs, memoryMb: limits.compileMemoryMb, maxProcesses: limits.compileMaxProcesses },
          },
        }
      : {}),
    ...(request.tests
      ? {
          cases: request.tests.map((test) => ({
            stdin: test.stdin ?? request.stdin,
            args: test.args ?? request.args,
            timeoutMs: test.timeoutMs ?? limits.timeoutMs,
            maxOutputBytes: caseOutputBytes(limits.maxOutputBytes, request.tests!.length),
          })),
        }
      : {}),
    source: language.shebang && !request.code.startsWith('#!') ? `${language.shebang}\n${request.code}` : request.code,
    stdin: request.stdin,
    args: request.args,
    env: { ...language.env, ...request.env },
    files: request.files.map((f) => ({ path: f.path, content: Buffer.from(f.content, f.encoding === 'base64' ? 'base64' : 'utf8') })),
  };
}
