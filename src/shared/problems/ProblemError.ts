import { problemEntry, type ProblemSlug } from './problemCatalogue.js';

/** One field-level complaint inside a problem document. */
export interface FieldError {
  path: string;
  message: string;
}

export interface ProblemOptions {
  /** What happened this time, for a person to read. */
  detail?: string;
  errors?: FieldError[];
  /**
   * Seconds for Retry-After, on a kind that carries it.
   * @defaultValue the catalogue's figure for the kind
   */
  retryAfterSeconds?: number;
  /** Headers the kind needs besides Retry-After: WWW-Authenticate, Allow. */
  headers?: Record<string, string>;
}

/** An RFC 9457 problem of one of the catalogue's kinds; thrown by call sites, written by writeProblem. */
export class ProblemError extends Error {
  readonly type: string;
  readonly status: number;
  readonly title: string;
  readonly detail: string | undefined;
  readonly errors: FieldError[] | undefined;
  readonly headers: Record<string, string>;

  constructor(
    readonly slug: ProblemSlug,
    options: ProblemOptions = {},
  ) {
    const entry = problemEntry(slug);
    super(options.detail ?? entry.title);
    this.name = 'ProblemError';
    this.type = entry.type;
    this.status = entry.status;
    this.title = entry.title;
    this.detail = options.detail;
    this.errors = options.errors;
    const retryAfter = entry.retryAfterSeconds === undefined ? undefined : (options.retryAfterSeconds ?? entry.retryAfterSeconds);
    this.headers = { ...options.headers, ...(retryAfter === undefined ? {} : { 'Retry-After': String(retryAfter) }) };
  }
}
