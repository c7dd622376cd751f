import { validate, compileErrors } from '@readme/openapi-parser';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROBLEM_CATALOGUE } from '../../src/shared/problems/problemCatalogue.js';
import { postJson, startTestService, type TestService } from '../helpers/service.js';

// ajv-formats is CommonJS; its default export arrives wrapped under ESM.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

interface OpenApi {
  openapi: string;
  paths: Record<string, Record<string, { parameters?: { name: string; in: string; schema: object }[] }>>;
  components: { schemas: Record<string, object> };
}

let svc: TestService;
let doc: OpenApi;
let ajv: Ajv2020;

beforeAll(async () => {
  // The document shows this deployment's own limits and policies.
  svc = await startTestService({ TIMEOUT_MS_MAX: '30000', MEMORY_MB_MAX: '512', RATE_LIMIT_PER_MINUTE: '0' }, 'api');
  const res = await fetch(`${svc.baseUrl}/openapi.json`);
  expect(res.status).toBe(200);
  doc = (await res.json()) as OpenApi;
  ajv = addFormats(new Ajv2020({ allErrors: true, strict: false }));
  // One container, so that the components' #/components/schemas/… references resolve.
  ajv.addSchema({ $id: 'sandq', components: doc.components });
});
afterAll(async () => {
  await svc?.stop();
});

const schema = (name: string) => ajv.getSchema(`sandq#/components/schemas/${name}`)!;

describe('GET /openapi.json', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    expect(doc.openapi).toBe('3.1.0');
    const result = await validate(structuredClone(doc) as never);
    expect(result.valid, result.valid ? '' : compileErrors(result)).toBe(true);
  });

  it('holds only valid JSON Schema 2020-12 component schemas', () => {
    const strict = addFormats(new Ajv2020({ strict: true }));
    for (const [name, component] of Object.entries(doc.components.schemas)) {
      expect(strict.validateSchema(component), `${name}: ${strict.errorsText()}`).toBe(true);
    }
    for (const name of ['ExecutionRequest', 'BatchRequest', 'Execution', 'Problem', 'ExecutionPage', 'BatchResult']) expect(schema(name), name).toBeTypeOf('function');
  });

  it('documents the 421 an open API answers to a Host that is not a loopback name, on every operation', () => {
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(item as Record<string, { responses?: Record<string, unknown> }>)) {
        if (method !== 'parameters') expect(operation.responses?.[421], `${method} ${path}`).toBeDefined();
      }
    }
  });

  it('lists every problem type in the Problem schema, and names on each problem response the types it carries', () => {
    const enumerated = (doc.components.schemas.Problem as { properties: { type: { enum: string[] } } }).properties.type.enum;
    expect([...enumerated].sort()).toEqual(PROBLEM_CATALOGUE.map((kind) => kind.type).sort());
    const kinds = new Map(PROBLEM_CATALOGUE.map((kind) => [kind.type, kind]));
    let responses = 0;
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(item as Record<string, { responses?: Record<string, Record<string, unknown>> }>)) {
        for (const [status, response] of Object.entries(operation.responses ?? {})) {
          if (!(response.content as Record<string, unknown> | undefined)?.['application/problem+json']) continue;
          const where = `${method} ${path} ${status}`;
          const types = response['x-problem-types'] as string[];
          expect(types.length, where).toBeGreaterThan(0);
          for (const type of types) {
            expect(kinds.get(type)?.status, `${where}: ${type}`).toBe(Number(status));
            expect(response.description, where).toContain(type);
          }
          const retryAfter = types.some((type) => kinds.get(type)!.retryAfter);
          expect((response.headers as Record<string, unknown> | undefined)?.['Retry-After'] !== undefined, `${where}: Retry-After`).toBe(retryAfter);
          responses++;
        }
      }
    }
    expect(responses).toBeGreaterThan(20);
  });

  it("carries the operator's maximums from the configuration", () => {
    const limits = (doc.components.schemas.ExecutionRequest as { properties: { limits: { properties: Record<string, { maximum?: number }> } } }).properties.limits.properties;
    expect(limits.timeoutMs?.maximum).toBe(30000);
    expect(limits.memoryMb?.maximum).toBe(512);
  });
});

const base = { language: 'python', code: 'print(1)' };
const samples: [string, unknown][] = [
  ['the smallest request', base],
  ['every field', {
    ...base,
    stdin: 'x',
    args: ['a'],
    env: { GREETING: 'hi' },
    files: [{ path: 'data/in.csv', content: 'YSxi', encoding: 'base64' }],
    artifacts: ['out/*.png'],
    limits: { timeoutMs: 30000, memoryMb: 64, maxProcesses: 8, maxOutputBytes: 1024, network: false },
    priority: 10,
    metadata: { userId: '42' },
  }],
  ['no code', { language: 'python' }],
  ['empty code', { ...base, code: '' }],
  ['an unknown language', { ...base, language: 'cobol' }],
  ['an unknown field', { ...base, colour: 'red' }],
  ['a timeout above this deployment\'s maximum', { ...base, limits: { timeoutMs: 30001 } }],
  ['memory below the minimum', { ...base, limits: { memoryMb: 8 } }],
  ['network, which this deployment does not allow', { ...base, limits: { network: true } }],
  ['a webhook, without WEBHOOK_SECRET', { ...base, webhook: { url: 'https://example.com/h' } }],
  ['priority 0', { ...base, priority: 0 }],
  ['a fractional priority', { ...base, priority: 2.5 }],
  ['a bad environment variable name', { ...base, env: { 'BAD-NAME': 'x' } }],
  ['a file without content', { ...base, files: [{ path: 'a.txt' }] }],
  ['an argument that is not a string', { ...base, args: [1] }],
  ['an unknown provider', { ...base, provider: 'mars' }],
  ['an array body', [base]],
];

describe('the request schema in the document decides like the API', () => {
  it.each(samples)('%s', async (_name, body) => {
    const validate = schema('ExecutionRequest');
    const documented = validate(body);
    const res = await postJson(svc.baseUrl, '/v1/executions', body);
    expect([202, 400]).toContain(res.status);
    expect(documented, JSON.stringify(validate.errors)).toBe(res.status === 202);
  });

  it.each([
    ['one item', 1, true],
    ['100 items', 100, true],
    ['101 items', 101, false],
    ['no item', 0, false],
  ])('a batch of %s', async (_name, count, accepted) => {
    const body = { executions: Array.from({ length: count }, () => base) };
    expect(schema('BatchRequest')(body)).toBe(accepted);
    const res = await postJson(svc.baseUrl, '/v1/executions/batch', body);
    expect(res.status).toBe(accepted ? 200 : 400);
  });

  it('documents the query parameters the API checks', async () => {
    const wait = doc.paths['/v1/executions/{id}']!.get!.parameters!.find((p) => p.name === 'wait')!;
    const checkWait = ajv.compile(wait.schema);
    // A cancelled execution is final: a valid wait answers at once.
    const id = ((await (await postJson(svc.baseUrl, '/v1/executions', base)).json()) as { id: string }).id;
    expect((await fetch(`${svc.baseUrl}/v1/executions/${id}`, { method: 'DELETE' })).status).toBe(202);
    for (const value of [0, 2.5, 60, 61, -1]) {
      const res = await fetch(`${svc.baseUrl}/v1/executions/${id}?wait=${value}`);
      expect(checkWait(value), String(value)).toBe(res.status === 200);
    }
    const limit = ajv.compile(doc.paths['/v1/executions']!.get!.parameters!.find((p) => p.name === 'limit')!.schema);
    for (const value of [1, 100, 101, 0]) {
      const res = await fetch(`${svc.baseUrl}/v1/executions?limit=${value}`);
      expect(limit(value), String(value)).toBe(res.status === 200);
    }
  });

  it('describes what the API answers', async () => {
    const res = await postJson(svc.baseUrl, '/v1/executions', base);
    const execution = await res.json();
    expect(schema('Execution')(execution), JSON.stringify(schema('Execution').errors)).toBe(true);
    const problem = await (await postJson(svc.baseUrl, '/v1/executions', { language: 'x' })).json();
    expect(schema('Problem')(problem)).toBe(true);
    const page = await (await fetch(`${svc.baseUrl}/v1/executions?limit=2`)).json();
    expect(schema('ExecutionPage')(page), JSON.stringify(schema('ExecutionPage').errors)).toBe(true);
  });
});

describe('GET /docs', () => {
  it('serves Swagger UI from this host, pointed at the document', async () => {
    const page = await fetch(`${svc.baseUrl}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const html = await page.text();
    for (const asset of html.match(/(?:href|src)="(docs\/[^"]+)"/g)!.map((m) => m.replace(/^(?:href|src)="|"$/g, ''))) {
      const res = await fetch(`${svc.baseUrl}/${asset}`);
      expect(res.status, asset).toBe(200);
      expect((await res.arrayBuffer()).byteLength, asset).toBeGreaterThan(0);
    }
    expect(html).not.toMatch(/https?:\/\//);
    expect(await (await fetch(`${svc.baseUrl}/docs/sandq-docs.js`)).text()).toContain("url: 'openapi.json'");
  });

  it('serves none of the package\'s other files, and sends /docs/ to /docs', async () => {
    expect((await fetch(`${svc.baseUrl}/docs/index.html`)).status).toBe(404);
    expect((await fetch(`${svc.baseUrl}/docs/..%2Fpackage.json`)).status).toBe(404);
    const slash = await fetch(`${svc.baseUrl}/docs/`, { redirect: 'manual' });
    expect(slash.status).toBe(301);
    expect(new URL(slash.headers.get('location')!, `${svc.baseUrl}/docs/`).pathname).toBe('/docs');
  });
});
