import { z } from 'zod';

/** The warm launchers a sandbox can start: python and node run the program in the waiting interpreter itself; bash waits as a shell and execs the language's commands. */
export const LAUNCHERS = ['python', 'node', 'bash'] as const;
export type Launcher = (typeof LAUNCHERS)[number];

const NAME = /^[a-z][a-z0-9+#.-]*$/;
/** A plain file name in the work dir: the source, or a file the compile writes. */
const FILE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

const command = z.array(z.string().min(1)).min(1);

const languageLimitsSchema = z
  .object({
    /** Memory of a run when the request names none; never above the operator's maximum. */
    memoryMb: z.number().int().min(16).optional(),
    /** Processes (threads count) of a run when the request names none: a JVM or the BEAM starts dozens. */
    maxProcesses: z.number().int().min(1).optional(),
    /** The compiler's defaults, when the request names none. */
    compileMemoryMb: z.number().int().min(16).optional(),
    compileMaxProcesses: z.number().int().min(1).optional(),
    compileTimeoutMs: z.number().int().min(1).optional(),
  })
  .strict();

/**
 * One language, as data: the built-in ones are `languages/<name>.json`, an
 * operator's are in LANGUAGES_FILE. Commands are argv arrays run inside the
 * sandbox with /work as the working directory; the request's args follow `run`.
 */
export const languageDefinitionSchema = z
  .object({
    name: z.string().regex(NAME, 'lower case letters, digits and + # . -'),
    displayName: z.string().min(1),
    aliases: z.array(z.string().regex(NAME)).default([]),
    /** File name extensions that mean this language (`.py`), for clients that pick it from a file name. */
    extensions: z.array(z.string().regex(/^\.[A-Za-z0-9]+$/)).default([]),
    /** Where the request's `code` is written in /work. */
    sourceFile: z.string().regex(FILE_NAME),
    /**
     * A first line the toolchain requires and never reads as code (escript
     * skips line 1): written before the source unless the source starts with `#!` itself.
     */
    shebang: z.string().regex(/^#![^\n]*$/, 'one line starting with #!').optional(),
    /** The warm launcher that serves it (default bash: a shell waits, then runs `compile` and `run`). */
    launcher: z.enum(LAUNCHERS).default('bash'),
    /** Asks the toolchain its version inside a sandbox; `versionPattern`'s first group (or the first line) is the version. */
    version: command,
    versionPattern: z.string().optional(),
    /** Compiles the source in the job's sandbox, under the compile limits; absent for interpreted languages. */
    compile: command.optional(),
    /** Runs the program (for python and node launchers: what an equivalent cold start would run). */
    run: command,
    /** Files the compile (or the sandbox) writes in /work, which request files may not take. */
    builtFiles: z.array(z.string().regex(FILE_NAME)).default([]),
    /** Variables set for the compile and the run, under the request's own `env`. */
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).default({}),
    limits: languageLimitsSchema.default({}),
    /** What installs the toolchain, per package manager: `sandq languages install` runs it. */
    packages: z.object({ apt: z.array(z.string().min(1)).default([]) }).strict().default({ apt: [] }),
    /**
     * Host configuration the toolchain reads (a JDK's `/etc/java-17-openjdk`,
     * R's `/etc/R`), bound read-only into every sandbox when it exists. Only
     * under /etc or /var/lib: the sandbox sees nothing else of the host but /usr.
     */
    systemPaths: z
      .array(z.string().regex(/^\/(etc|var\/lib)\/[A-Za-z0-9_.+-]+(\/[A-Za-z0-9_.+-]+)*$/, 'an absolute path under /etc or /var/lib, without . or .. parts').refine((p) => !/\/\.\.?(\/|$)/.test(p), 'without . or .. parts'))
      .default([]),
    /** TypeScript only: the source is transpiled by the bundled esbuild in the sandbox before the run. */
    transpiler: z.literal('esbuild').optional(),
  })
  .strict();

export type LanguageDefinition = z.output<typeof languageDefinitionSchema>;
export type LanguageDefinitionInput = z.input<typeof languageDefinitionSchema>;

/** A LANGUAGES_FILE: definitions that add languages or replace built-in ones of the same name. */
export const languagesFileSchema = z.object({ languages: z.array(languageDefinitionSchema) }).strict();
