import { z } from 'zod';
import type { executionRequestSchema } from '../../shared/contract/executionRequest.js';
import type { LimitsPolicy } from '../../shared/contract/limits.js';
import type { WebhookPolicy } from '../../shared/contract/webhook.js';
import { problemEntry, type ProblemSlug } from '../../shared/problems/problemCatalogue.js';
import { PROBLEM_CONTENT_TYPE } from '../../shared/problems/writeProblem.js';
import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER } from '../../shared/webhookSignature.js';
import type { AdminAccess } from '../auth/AccessPolicy.js';
import { batchSchema, getQuerySchema, IDEMPOTENCY_KEY, listQuerySchema, MAX_BATCH_SIZE } from '../routes/querySchemas.js';
import {
  batchResultSchema,
  executionPageSchema,
  executionSchema,
  healthSchema,
  languagesSchema,
  problemSchema,
  readySchema,
} from './responseSchemas.js';

export interface OpenApiOptions {
  /** The very schema POST /v1/executions validates with. */
  requestSchema: ReturnType<typeof executionRequestSchema>;
  limits: LimitsPolicy;
  webhooks: WebhookPolicy;
  /** True when /v1 needs an API key. */
  apiKeys: boolean;
  admin: AdminAccess;
}

type Json = Record<string, unknown>;

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Json) => ({ 'application/json': { schema } });

/** JSON Schema 2020-12 from zod, as OpenAPI 3.1 embeds it: no $schema or $id of its own. */
function bare(schema: Json): Json {
  const { $schema: _schema, $id: _id, ...rest } = schema;
  return rest;
}

/** Answers may gain fields; only requests are closed to unknown ones. */
function openToNewFields(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(openToNewFields);
  if (node === null || typeof node !== 'object') return node;
  const out: Json = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'additionalProperties' && value === false) continue;
    out[key] = openToNewFields(value);
  }
  return out;
}

function components(registry: z.core.$ZodRegistry<{ id: string }>, io: 'input' | 'output'): Record<string, Json> {
  const { schemas } = z.toJSONSchema(registry, { io, uri: (id) => `#/components/schemas/${id}`, unrepresentable: 'any' });
  return Object.fromEntries(Object.entries(schemas).map(([name, schema]) => [name, bare(schema as Json)]));
}

/** What the refinements of the request schema refuse, which JSON Schema cannot say by itself. */
function applyPolicy(request: Json, options: OpenApiOptions): Json {
  const properties = { ...(request.properties as Record<string, Json>) };
  if (!options.webhooks.enabled) delete properties.webhook;
  if (options.limits.providers && properties.provider) properties.provider = { ...properties.provider, enum: [...options.limits.providers] };
  const limits = properties.limits;
  if (limits) {
    const limitProperties = { ...(limits.properties as Record<string, Json>) };
    limitProperties.network = { type: 'boolean', const: false, default: false, description: 'Network access is not enabled on this deployment.' };
    properties.limits = { ...limits, properties: limitProperties };
  }
  return { ...request, properties };
}

function queryParameters(schema: z.ZodObject): Json[] {
  return Object.entries(schema.shape).map(([name, field]) => {
    const { description, ...fieldSchema } = bare(z.toJSONSchema(field as z.ZodType, { io: 'input', unrepresentable: 'any' }) as Json);
    return { name, in: 'query', required: !(field as z.ZodType).safeParse(undefined).success, schema: fieldSchema, ...(description ? { description } : {}) };
  });
}

/**
 * A response that is a problem of one of these kinds: the types are named in
 * the description and, for tools, in `x-problem-types`; Retry-After is
 * declared when one of them carries it.
 */
function problem(description: string, ...slugs: ProblemSlug[]): Json {
  const kinds = slugs.map(problemEntry);
  const retryAfter = kinds.some((kind) => kind.retryAfterSeconds !== undefined);
  return {
    description: `${description} Type: ${kinds.map((kind) => `\`${kind.type}\``).join(' or ')}.`,
    'x-problem-types': kinds.map((kind) => kind.type),
    ...(retryAfter ? { headers: { 'Retry-After': { description: 'Seconds to wait before trying again.', schema: { type: 'integer' } } } } : {}),
    content: { [PROBLEM_CONTENT_TYPE]: { schema: ref('Problem') } },
  };
}

const ID_PARAMETER = { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^ex_[0-9a-f]{32}$' } };

/**
 * The OpenAPI 3.1 document of this deployment's API, generated from the zod
 * schemas the routes validate with (with the operator's limits and policies
 * in them), so that the document and the validation cannot disagree.
 */
export function openApiDocument(options: OpenApiOptions): Json {
  const inputs = z.registry<{ id: string }>();
  inputs.add(options.requestSchema, { id: 'ExecutionRequest' });
  inputs.add(batchSchema.extend({ executions: z.array(options.requestSchema).min(1).max(MAX_BATCH_SIZE) }), { id: 'BatchRequest' });
  const outputs = z.registry<{ id: string }>();
  outputs.add(executionSchema, { id: 'Execution' });
  outputs.add(problemSchema, { id: 'Problem' });
  outputs.add(executionPageSchema, { id: 'ExecutionPage' });
  outputs.add(batchResultSchema, { id: 'BatchResult' });
  outputs.add(languagesSchema, { id: 'Languages' });
  outputs.add(healthSchema, { id: 'Health' });
  outputs.add(readySchema, { id: 'Ready' });

  const requestComponents = components(inputs, 'input');
  requestComponents.ExecutionRequest = applyPolicy(requestComponents.ExecutionRequest!, options);
  const schemas = { ...requestComponents, ...(openToNewFields(components(outputs, 'output')) as Record<string, Json>) };

  const secured = options.apiKeys ? { security: [{ apiKey: [] }] } : {};
  const auth = options.apiKeys ? { 401: problem('No API key, or not a valid one.', 'unauthorized') } : {};
  const unavailable = problem('Redis cannot be reached.', 'redis-unavailable');
  const notFound = problem('No such execution (or it belongs to another API key, or has expired).', 'not-found');
  const notJson = {
    413: problem('The body is larger than MAX_REQUEST_BYTES.', 'payload-too-large'),
    415: problem('The body is not JSON.', 'unsupported-media-type'),
  };
  const withId = { parameters: [ID_PARAMETER] };
  const submitRefusals = {
    429: problem('Over the rate limit of this API key, or it has MAX_QUEUED_PER_KEY executions waiting already.', 'rate-limited', 'too-many-queued-executions'),
    503: problem('The queue is full, or Redis cannot be reached.', 'queue-full', 'redis-unavailable'),
    507: problem('This API key stores MAX_STORED_BYTES_PER_KEY of requests and results already; room frees as results expire.', 'storage-quota-exceeded'),
  };

  const paths: Json = {
    '/v1/executions': {
      post: {
        operationId: 'submitExecution',
        summary: 'Submit an execution',
        ...secured,
        parameters: [
          {
            name: 'Idempotency-Key',
            in: 'header',
            required: false,
            description: 'The same key and body return the same execution (200); the same key with another body is a 409.',
            schema: { type: 'string', pattern: IDEMPOTENCY_KEY.source },
          },
        ],
        requestBody: { required: true, content: json(ref('ExecutionRequest')) },
        responses: {
          202: { description: 'Queued.', headers: { Location: { schema: { type: 'string' } } }, content: json(ref('Execution')) },
          200: { description: 'A repeat of an earlier request with the same Idempotency-Key.', content: json(ref('Execution')) },
          400: problem('The body or a header is not valid; `errors` names each field.', 'validation-error', 'malformed-json'),
          ...auth,
          409: problem('Idempotency-Key reused with another body, or its first request is still in progress.', 'idempotency-key-reused', 'idempotency-key-in-progress'),
          ...notJson,
          ...submitRefusals,
        },
      },
      get: {
        operationId: 'listExecutions',
        summary: "List this API key's executions, newest first",
        ...secured,
        parameters: queryParameters(listQuerySchema),
        responses: { 200: { description: 'A page.', content: json(ref('ExecutionPage')) }, 400: problem('A query parameter is not valid.', 'validation-error'), ...auth, 503: unavailable },
      },
    },
    '/v1/executions/batch': {
      post: {
        operationId: 'submitBatch',
        summary: `Submit up to ${MAX_BATCH_SIZE} executions at once`,
        description: 'Valid items are queued together; each counts against the rate limit and the storage quotas of the key, and the whole batch is refused when they do not all fit.',
        ...secured,
        requestBody: { required: true, content: json(ref('BatchRequest')) },
        responses: {
          200: { description: 'A result per item, in request order.', content: json(ref('BatchResult')) },
          400: problem('The envelope is not valid.', 'validation-error', 'malformed-json'),
          ...auth,
          ...notJson,
          ...submitRefusals,
        },
      },
    },
    '/v1/executions/{id}': {
      ...withId,
      get: {
        operationId: 'getExecution',
        summary: 'Read an execution, optionally waiting for it to finish',
        ...secured,
        parameters: queryParameters(getQuerySchema),
        responses: {
          200: { description: 'The execution.', content: json(ref('Execution')) },
          400: problem('`wait` is not valid.', 'validation-error'),
          ...auth,
          404: notFound,
          429: problem('With `wait`, on an execution not final yet: this API key (or this API process) holds LONG_POLL_MAX_PER_KEY (LONG_POLL_MAX) long-polls already.', 'too-many-long-polls'),
          503: unavailable,
        },
      },
      delete: {
        operationId: 'cancelExecution',
        summary: 'Cancel a queued or running execution',
        ...secured,
        responses: {
          202: { description: 'Cancelled by this request.', content: json(ref('Execution')) },
          200: { description: 'It was cancelled already.', content: json(ref('Execution')) },
          ...auth,
          404: notFound,
          409: problem('It has already finished.', 'execution-already-finished'),
          503: unavailable,
        },
      },
    },
    '/v1/executions/{id}/events': {
      ...withId,
      get: {
        operationId: 'streamExecutionEvents',
        summary: 'Server-sent events: status, stdout, stderr, then done',
        ...secured,
        parameters: [{ name: 'Last-Event-ID', in: 'header', required: false, description: 'Resume after this event.', schema: { type: 'string' } }],
        responses: {
          200: { description: 'An event stream; every event\'s data is one line of JSON.', content: { 'text/event-stream': { schema: { type: 'string' } } } },
          ...auth,
          404: notFound,
          429: problem('This API key (or this API process) holds SSE_MAX_STREAMS_PER_KEY (SSE_MAX_STREAMS) event streams already.', 'too-many-event-streams'),
          503: unavailable,
        },
      },
    },
    '/v1/languages': {
      get: { operationId: 'listLanguages', summary: 'Languages the live workers run, with versions', ...secured, responses: { 200: { description: 'Languages.', content: json(ref('Languages')) }, ...auth, 503: unavailable } },
    },
    '/healthz': { get: { operationId: 'health', summary: 'The process is alive', responses: { 200: { description: 'Alive.', content: json(ref('Health')) } } } },
    '/readyz': {
      get: { operationId: 'ready', summary: 'Redis answers; live workers and their isolation warnings', responses: { 200: { description: 'Ready.', content: json(ref('Ready')) }, 503: unavailable } },
    },
    '/openapi.json': { get: { operationId: 'openApi', summary: 'This document', responses: { 200: { description: 'OpenAPI 3.1.', content: json({ type: 'object' }) } } } },
  };
  if (options.admin !== 'off') {
    paths['/metrics'] = {
      get: {
        operationId: 'metrics',
        summary: 'Prometheus metrics',
        ...(options.admin === 'basic' ? { security: [{ admin: [] }] } : {}),
        responses: {
          200: { description: 'Prometheus text format.', content: { 'text/plain': { schema: { type: 'string' } } } },
          ...(options.admin === 'basic' ? { 401: problem('ADMIN_USER/ADMIN_PASSWORD needed.', 'unauthorized') } : {}),
        },
      },
    };
  }

  if (!options.apiKeys) {
    // An open API answers only requests addressed to a loopback name (its guard against DNS rebinding).
    const misdirected = problem('The Host header is not a loopback name (localhost, *.localhost, 127.0.0.0/8, [::1]) or one of ALLOWED_HOSTS.', 'misdirected-request');
    for (const item of Object.values(paths) as Record<string, { responses?: Json }>[]) {
      for (const operation of Object.values(item)) if (operation.responses) operation.responses[421] = misdirected;
    }
  }

  const { webhook: _webhook, ...executionFields } = (schemas.Execution as { properties: Json }).properties;
  return {
    openapi: '3.1.0',
    info: {
      title: 'sandq',
      version: '1',
      summary: 'Runs untrusted code as asynchronous jobs in sandboxes.',
      description: 'Errors are RFC 9457 problem documents (application/problem+json); their `type` says which problem it is (the Problem schema lists them all), and each response names the types it can carry.',
    },
    servers: [{ url: '/' }],
    paths,
    webhooks: {
      'execution.finished': {
        post: {
          summary: 'Sent once when an execution with a webhook is final',
          parameters: [
            { name: EVENT_HEADER, in: 'header', required: true, schema: { const: 'execution.finished' } },
            { name: DELIVERY_HEADER, in: 'header', required: true, description: 'The same on every retry: drop repeats.', schema: { type: 'string' } },
            { name: SIGNATURE_HEADER, in: 'header', required: true, description: 't=<unix>,v1=<hex HMAC-SHA256(WEBHOOK_SECRET, "<t>.<raw body>")>', schema: { type: 'string' } },
          ],
          requestBody: { required: true, content: json({ ...schemas.Execution, properties: executionFields, required: ((schemas.Execution as { required: string[] }).required ?? []).filter((f) => f !== 'webhook') }) },
          responses: { '2XX': { description: 'Delivered.' }, 410: { description: 'Gone: no more attempts.' } },
        },
      },
    },
    components: {
      schemas,
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'An API key from API_KEYS.' },
        admin: { type: 'http', scheme: 'basic', description: 'ADMIN_USER and ADMIN_PASSWORD.' },
      },
    },
  };
}
