import type { Program, ProgramFile } from '../SandboxProvider.js';

/**
 * The job's arguments and environment as a launcher's shell reads them
 * (`mapfile -d ''`): any `leading` fields, then argc, the args, and one
 * NAME=value per variable, each field NUL-terminated, so nothing the request
 * holds can split a field or be taken for shell syntax.
 */
export function nulSpec(leading: readonly string[], args: readonly string[], env: Record<string, string>): string {
  const assignments = Object.entries(env).map(([name, value]) => `${name}=${value}`);
  return [...leading, String(args.length), ...args, ...assignments].map((field) => `${field}\0`).join('');
}

/** The job's own files and its source, where the program (or, for TypeScript, the transpiler) reads it. */
export function programFiles(program: Pick<Program, 'files' | 'source' | 'entryFile' | 'transpile'>): ProgramFile[] {
  return [...program.files, { path: program.transpile?.from ?? program.entryFile, content: Buffer.from(program.source) }];
}
