/** One field-level complaint inside a problem document. */
export interface FieldError {
  path: string;
  message: string;
}

/** An RFC 9457 problem the API answers with; thrown by routes, rendered by the problem handler. */
export class ProblemError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail?: string,
    readonly errors?: FieldError[],
    readonly headers: Record<string, string> = {},
    /**
     * Its name in the type URI, `urn:sandq:problem:<type>`, for a problem
     * that shares its status with others a client tells apart.
     * @defaultValue the status's own name (`too-many-requests` for 429)
     */
    readonly type?: string,
  ) {
    super(detail ?? title);
    this.name = 'ProblemError';
  }
}
