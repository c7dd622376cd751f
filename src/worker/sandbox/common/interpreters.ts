import type { Runtime } from '../SandboxProvider.js';

/** Every runtime a sandbox may offer, in the order they are listed. */
export const RUNTIMES: readonly Runtime[] = ['python', 'node', 'bash'];

/** Each runtime's interpreter, by its name on a system's PATH, and how it is asked its version. */
export const INTERPRETERS: Readonly<Record<Runtime, { name: string; versionArgs: readonly string[] }>> = {
  python: { name: 'python3', versionArgs: ['--version'] },
  node: { name: 'node', versionArgs: ['--version'] },
  bash: { name: 'bash', versionArgs: ['-c', 'echo "$BASH_VERSION"'] },
};

/** The version from an interpreter's answer, written the same whichever sandbox asked: `3.12.1`, `v20.11.0`, `5.2.21(1)-release`. */
export function versionFromAnswer(answer: string): string {
  return answer.trim().replace(/^Python /, '');
}
