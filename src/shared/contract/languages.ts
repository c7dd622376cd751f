/** Languages the contract knows. `GET /v1/languages` says which of them this deployment really runs. */
export const LANGUAGES = ['python', 'javascript', 'typescript', 'bash'] as const;
export type Language = (typeof LANGUAGES)[number];

/** A work-dir directory the sandbox uses to hand a program its job; request files may not use it. */
export const RESERVED_DIR = '.sandq';

/** File name the program's code is written to in the work dir; request files may not take it. */
export const PROGRAM_FILE: Record<Language, string> = {
  python: 'main.py',
  javascript: 'main.js',
  typescript: 'main.ts',
  bash: 'main.sh',
};

/** Files the sandbox itself writes from the program (TypeScript's transpiled output); request files may not take them either. */
export const BUILT_FILES: Record<Language, readonly string[]> = {
  python: [],
  javascript: [],
  typescript: ['main.js'],
  bash: [],
};
