import { isIP } from 'node:net';

/** `localhost`, 127.0.0.0/8 and ::1 (bracketed or not, IPv4-mapped too): addresses only this machine answers. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (bare === '::1') return true;
  return /^::ffff:127\./.test(bare);
}
