import { afterAll, beforeAll, expect, it } from 'vitest';
import { postJson, startTestService, type TestService } from '../helpers/service.js';

// The API alone: executions stay queued, so their event streams stay open.
let svc: TestService;
beforeAll(async () => {
  svc = await startTestService({ SSE_MAX_STREAMS_PER_KEY: '2' }, 'api');
});
afterAll(async () => {
  await svc?.stop();
});

it('refuses an owner more open event streams than SSE_MAX_STREAMS_PER_KEY with 429, and frees the slot when one closes', async () => {
  const { id } = (await (await postJson(svc.baseUrl, '/v1/executions', { language: 'bash', code: 'true' })).json()) as { id: string };
  const open = () => {
    const controller = new AbortController();
    return { controller, response: fetch(`${svc.baseUrl}/v1/executions/${id}/events`, { signal: controller.signal }) };
  };
  const first = open();
  const second = open();
  expect((await first.response).status).toBe(200);
  expect((await second.response).status).toBe(200);

  const third = await fetch(`${svc.baseUrl}/v1/executions/${id}/events`);
  expect(third.status).toBe(429);
  expect(third.headers.get('content-type')).toContain('application/problem+json');
  expect(third.headers.get('retry-after')).toBe('5');
  expect(((await third.json()) as { type: string }).type).toBe('urn:sandq:problem:too-many-event-streams');

  first.controller.abort();
  // The server notices the closed connection and gives the slot back.
  let again: Response | undefined;
  for (let i = 0; i < 50 && again?.status !== 200; i++) {
    await new Promise((r) => setTimeout(r, 50));
    const attempt = open();
    again = await attempt.response;
    if (again.status === 200) attempt.controller.abort();
  }
  expect(again?.status).toBe(200);
  second.controller.abort();
});
