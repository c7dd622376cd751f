import { OPEN_OWNER } from './owner.js';
import { createHash } from 'node:crypto';

/** One accepted API key: whose it is and the SHA-256 of the key (the key itself is never kept). */
export interface ApiKeyEntry {
  name: string;
  /** 32 bytes. */
  hash: Buffer;
}

/** Owner names become Redis key parts and metric labels: keep them short and plain. */
const OWNER_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
/** RFC 6750 b64token: what a Bearer token may hold. */
const BEARER_TOKEN = /^[A-Za-z0-9._~+/-]+=*$/;
const HASHED_KEY = /^sha256:([0-9a-f]{64})$/i;
const MIN_KEY_LENGTH = 16;

export function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * Parses API_KEYS: `name:key,name2:key2`. A key may also be given as its
 * hash, `name:sha256:<64 hex>`, so the environment need not hold it. A name
 * may appear more than once (old and new key while rotating). Throws an
 * Error whose message never contains a key.
 */
export function parseApiKeys(value: string): ApiKeyEntry[] {
  const entries: ApiKeyEntry[] = [];
  const seen = new Set<string>();
  value.split(',').map((part) => part.trim()).filter(Boolean).forEach((part, index) => {
    const colon = part.indexOf(':');
    const name = colon < 0 ? '' : part.slice(0, colon);
    const key = colon < 0 ? '' : part.slice(colon + 1);
    const where = `entry ${index + 1}`;
    if (!OWNER_NAME.test(name)) throw new Error(`${where}: write name:key, the name of letters, digits, _ . - (at most 64)`);
    // Executions made while the API ran without keys belong to it; a key of that name would see them all.
    if (name === OPEN_OWNER) throw new Error(`${where}: "${OPEN_OWNER}" is reserved for executions made without keys; choose another name`);
    const hashed = HASHED_KEY.exec(key);
    if (!hashed) {
      if (!BEARER_TOKEN.test(key)) throw new Error(`${where} (name "${name}"): the key may hold only letters, digits and - . _ ~ + / (then = padding)`);
      if (key.length < MIN_KEY_LENGTH) throw new Error(`${where} (name "${name}"): the key must have at least ${MIN_KEY_LENGTH} characters`);
    }
    const hash = hashed ? Buffer.from(hashed[1]!, 'hex') : sha256(key);
    const hex = hash.toString('hex');
    if (seen.has(hex)) throw new Error(`${where} (name "${name}"): the same key is listed twice`);
    seen.add(hex);
    entries.push({ name, hash });
  });
  if (entries.length === 0) throw new Error('no name:key entry');
  return entries;
}
