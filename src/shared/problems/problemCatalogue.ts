/** What a catalogue entry says about one kind of problem; exported as data so that docs can be generated from it. */
export interface ProblemKind {
  /** The last part of the type URI, and the name call sites create the problem by. */
  slug: ProblemSlug;
  /** `urn:sandq:problem:<slug>`: what a client branches on. */
  type: string;
  status: number;
  /** The same for every problem of the kind (RFC 9457); the specifics go in `detail`. */
  title: string;
  /** When sandq answers with it, in one line. */
  description: string;
  /** Whether the answer carries Retry-After. */
  retryAfter: boolean;
}

interface Entry {
  status: number;
  title: string;
  description: string;
  /**
   * Seconds a client is told to wait (Retry-After) unless the call site
   * knows better; absent for problems that retrying does not cure.
   */
  retryAfterSeconds?: number;
}

/**
 * Every problem sandq answers with, API and worker alike: each its own
 * `type`, so that a client can tell two 503s or two 429s apart.
 */
const ENTRIES = {
  'validation-error': { status: 400, title: 'The request is not valid', description: 'A field of the body, a query parameter or a header is not valid; `errors` names each one.' },
  'malformed-json': { status: 400, title: 'Malformed JSON', description: 'The body is not valid JSON.' },
  'malformed-request': { status: 400, title: 'Malformed HTTP request', description: 'The request could not be read as HTTP/1.1 (a bad request line, an invalid header, a body that does not match its length).' },
  unauthorized: { status: 401, title: 'Authentication required', description: 'No credentials, or not valid ones: an API key (Bearer) on /v1, ADMIN_USER/ADMIN_PASSWORD (Basic) on /metrics and Bull Board.' },
  forbidden: { status: 403, title: 'Forbidden', description: 'The credentials are right, but this is not allowed here: Bull Board only shows the queues unless ADMIN_BOARD_WRITES=true.' },
  'not-found': { status: 404, title: 'Not found', description: 'No such route, or no such execution (or it belongs to another API key, or has expired).' },
  'method-not-allowed': { status: 405, title: 'Method not allowed', description: 'The path exists but not with this method; Allow lists the ones it takes.' },
  'request-timeout': { status: 408, title: 'Request timeout', description: 'The request did not arrive in full in time.' },
  'idempotency-key-reused': { status: 409, title: 'Idempotency-Key reused', description: 'The Idempotency-Key was used before with a different body.' },
  'idempotency-key-in-progress': { status: 409, title: 'Request in progress', description: 'An earlier request with this Idempotency-Key is still creating its execution.', retryAfterSeconds: 1 },
  'execution-already-finished': { status: 409, title: 'Execution already finished', description: 'A cancel of an execution that has already ended.' },
  'payload-too-large': { status: 413, title: 'Request body too large', description: 'The body is larger than MAX_REQUEST_BYTES.' },
  'unsupported-media-type': { status: 415, title: 'Unsupported media type', description: 'The body is not JSON (Content-Type), or its encoding or charset is not one sandq reads.' },
  'misdirected-request': { status: 421, title: 'Misdirected request', description: 'An API without API_KEYS got a Host that is not a loopback name or one of ALLOWED_HOSTS (its guard against DNS rebinding).' },
  'rate-limited': { status: 429, title: 'Rate limit exceeded', description: 'The API key submitted RATE_LIMIT_PER_MINUTE executions in the last minute, or a batch holds more than that.', retryAfterSeconds: 60 },
  'too-many-queued-executions': { status: 429, title: 'Too many queued executions', description: 'The API key has MAX_QUEUED_PER_KEY executions waiting for a worker already.', retryAfterSeconds: 5 },
  'too-many-event-streams': { status: 429, title: 'Too many event streams', description: 'The API key (SSE_MAX_STREAMS_PER_KEY) or the API process (SSE_MAX_STREAMS) holds as many open event streams as it may.', retryAfterSeconds: 5 },
  'too-many-long-polls': { status: 429, title: 'Too many long-polls', description: 'The API key (LONG_POLL_MAX_PER_KEY) or the API process (LONG_POLL_MAX) holds as many open long-polls (`?wait=`) as it may.', retryAfterSeconds: 5 },
  'headers-too-large': { status: 431, title: 'Request header fields too large', description: "The request's headers are larger than the server reads." },
  'internal-error': { status: 500, title: 'Internal server error', description: 'sandq failed to handle the request; the error is logged, never shown.' },
  'redis-unavailable': { status: 503, title: 'Redis unavailable', description: 'The queue store (Redis) cannot be reached; also what /readyz answers then.', retryAfterSeconds: 5 },
  'queue-full': { status: 503, title: 'Queue full', description: 'MAX_QUEUE_DEPTH executions are waiting for a worker already.', retryAfterSeconds: 5 },
  'storage-quota-exceeded': { status: 507, title: 'Storage quota exceeded', description: 'The API key stores MAX_STORED_BYTES_PER_KEY of requests and results already; room frees as results expire.' },
} as const satisfies Record<string, Entry>;

export type ProblemSlug = keyof typeof ENTRIES;

const TYPE_PREFIX = 'urn:sandq:problem:';

/** One kind's entry, with the Retry-After its problems carry unless told otherwise. */
export function problemEntry(slug: ProblemSlug): Entry & { type: string } {
  return { ...(ENTRIES[slug] as Entry), type: `${TYPE_PREFIX}${slug}` };
}

/** The catalogue as data, ordered by status. */
export const PROBLEM_CATALOGUE: readonly ProblemKind[] = Object.entries(ENTRIES as Record<ProblemSlug, Entry>)
  .map(([slug, entry]) => ({
    slug: slug as ProblemSlug,
    type: `${TYPE_PREFIX}${slug}`,
    status: entry.status,
    title: entry.title,
    description: entry.description,
    retryAfter: entry.retryAfterSeconds !== undefined,
  }))
  .sort((a, b) => a.status - b.status);

/** Every type URI, for the OpenAPI document's enum. */
export const PROBLEM_TYPES: readonly string[] = PROBLEM_CATALOGUE.map((kind) => kind.type);
