import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { WebhookTarget } from './resolveWebhookTarget.js';

export interface WebhookPost {
  url: URL;
  target: WebhookTarget;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
}

export interface WebhookAnswer {
  status: number;
  location: string | undefined;
}

/** Every connection of this request goes to the checked address, whatever DNS says by then. */
function pinnedLookup(target: WebhookTarget): LookupFunction {
  return (_hostname, options, callback) => {
    if (options.all) callback(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  };
}

/**
 * One POST, no redirects followed (node's http never follows them), no
 * connection reuse. Only the status matters, so the answer's body is not read.
 * Rejects when nothing answers within `timeoutMs`.
 */
export async function postWebhook(post: WebhookPost): Promise<WebhookAnswer> {
  const client = post.url.protocol === 'https:' ? https : http;
  return await new Promise<WebhookAnswer>((resolve, reject) => {
    const request = client.request(post.url, {
      method: 'POST',
      agent: false,
      lookup: pinnedLookup(post.target),
      headers: { ...post.headers, 'Content-Length': String(Buffer.byteLength(post.body)) },
    });
    const timer = setTimeout(() => request.destroy(new Error(`no answer within ${post.timeoutMs} ms`)), post.timeoutMs);
    request.once('response', (response) => {
      clearTimeout(timer);
      resolve({ status: response.statusCode ?? 0, location: response.headers.location });
      response.destroy();
    });
    request.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    request.end(post.body);
  });
}
