/** A work-dir directory the sandbox uses to hand a program its job; request files may not use it. */
export const RESERVED_DIR = '.sandq';

/** A language's canonical name (`python`, `cpp`): the `name` of its definition (see src/shared/languages). */
export type Language = string;
