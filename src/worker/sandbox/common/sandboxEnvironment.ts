/**
 * The environment every program starts from, whichever provider runs it:
 * the request's `env` is laid over it. Only where the work dir is (HOME) and
 * which directories hold the system's programs (PATH) differ between sandboxes.
 */
export function sandboxEnvironment(where: { workDir: string; searchPath: string }): Record<string, string> {
  return {
    PATH: where.searchPath,
    HOME: where.workDir,
    TMPDIR: '/tmp',
    LANG: 'C.UTF-8',
  };
}

/** The program's own environment: the sandbox's, with the request's `env` over it. */
export function programEnvironment(base: Record<string, string>, requested: Record<string, string>): Record<string, string> {
  return { ...base, ...requested };
}
