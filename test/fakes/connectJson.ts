/**
 * Connect protocol framing with the JSON codec, as envd speaks it: a
 * streaming message is 1 flag byte, a 4-byte big-endian length, then JSON.
 * The last frame of a response stream carries END_STREAM and `{}` (or an error).
 */
export const END_STREAM = 0x02;

export function frame(message: unknown, flags = 0): Buffer {
  const body = Buffer.from(JSON.stringify(message));
  const head = Buffer.alloc(5);
  head.writeUInt8(flags, 0);
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

/** The first message of an enveloped request body (a server-streaming call sends exactly one). */
export function firstMessage(body: Buffer): unknown {
  if (body.length < 5) throw new Error('the request has no envelope');
  const length = body.readUInt32BE(1);
  return JSON.parse(body.subarray(5, 5 + length).toString('utf8'));
}

/** Connect error codes the fake answers with, and the HTTP status a unary error carries. */
export const CONNECT_STATUS = { not_found: 404, unauthenticated: 401, invalid_argument: 400, unimplemented: 501, internal: 500 } as const;
export type ConnectCode = keyof typeof CONNECT_STATUS;
