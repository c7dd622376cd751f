import net from 'node:net';

type Range = readonly [prefix: string, bits: number];

/** IPv4 ranges a webhook may not reach: "this network", private, CGNAT, loopback, link-local, benchmark, multicast, reserved. */
const IPV4_BLOCKED: readonly Range[] = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
];

/** IPv6: unspecified, loopback, unique-local, link-local, multicast. */
const IPV6_BLOCKED: readonly Range[] = [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  // Site-local (deprecated, still routed inside some networks) and local-use NAT64 (RFC 8215).
  ['fec0::', 10],
  ['64:ff9b:1::', 48],
  ['ff00::', 8],
];

/**
 * IPv6 forms that carry an IPv4 address (mapped, compatible, NAT64, 6to4):
 * the embedded address decides, so ::ffff:127.0.0.1 is as private as 127.0.0.1.
 */
const IPV4_EMBEDDED: readonly (readonly [prefix: string, bits: number, offset: number])[] = [
  ['::ffff:0:0', 96, 12],
  // SIIT, IPv4-translated (RFC 2765).
  ['::ffff:0:0:0', 96, 12],
  ['::', 96, 12],
  ['64:ff9b::', 96, 12],
  ['2002::', 16, 2],
];

function ipv4Bytes(address: string): Uint8Array {
  return Uint8Array.from(address.split('.').map(Number));
}

/** 16 bytes of an IPv6 address (already validated by net.isIP), including a trailing dotted quad. */
function ipv6Bytes(address: string): Uint8Array {
  let text = address;
  const tail: number[] = [];
  const dotted = text.match(/^(.*:)(\d+\.\d+\.\d+\.\d+)$/);
  if (dotted) {
    text = `${dotted[1]}0:0`;
    tail.push(...ipv4Bytes(dotted[2]!));
  }
  const [head = '', rest] = text.split('::');
  const groups = (part: string) => (part ? part.split(':').map((g) => parseInt(g, 16)) : []);
  const left = groups(head);
  const right = rest === undefined ? [] : groups(rest);
  const all = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  const bytes = new Uint8Array(16);
  all.forEach((group, i) => {
    bytes[i * 2] = group >> 8;
    bytes[i * 2 + 1] = group & 0xff;
  });
  if (tail.length) bytes.set(tail, 12);
  return bytes;
}

function inRange(bytes: Uint8Array, prefix: Uint8Array, bits: number): boolean {
  for (let bit = 0; bit < bits; bit++) {
    const mask = 0x80 >> (bit % 8);
    if ((bytes[bit >> 3]! & mask) !== (prefix[bit >> 3]! & mask)) return false;
  }
  return true;
}

const v4Ranges = IPV4_BLOCKED.map(([p, bits]) => [ipv4Bytes(p), bits] as const);
const v6Ranges = IPV6_BLOCKED.map(([p, bits]) => [ipv6Bytes(p), bits] as const);
const embedded = IPV4_EMBEDDED.map(([p, bits, offset]) => [ipv6Bytes(p), bits, offset] as const);

/**
 * True for addresses a webhook must not reach unless the operator allows it:
 * loopback, private, link-local, CGNAT, unique-local, unspecified, multicast,
 * and IPv6 forms that embed such an IPv4 address. Not an IP address at all: true.
 */
export function isPrivateAddress(address: string): boolean {
  const ip = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  switch (net.isIP(ip)) {
    case 4: {
      const bytes = ipv4Bytes(ip);
      return v4Ranges.some(([prefix, bits]) => inRange(bytes, prefix, bits));
    }
    case 6: {
      const bytes = ipv6Bytes(ip.toLowerCase());
      if (v6Ranges.some(([prefix, bits]) => inRange(bytes, prefix, bits))) return true;
      for (const [prefix, bits, offset] of embedded) {
        if (inRange(bytes, prefix, bits)) return isPrivateAddress(bytes.subarray(offset, offset + 4).join('.'));
      }
      return false;
    }
    default:
      return true;
  }
}

/** The IP literal a URL's host names (brackets stripped), or undefined for a DNS name. */
export function ipLiteralOf(hostname: string): string | undefined {
  const host = hostname.replace(/^\[|\]$/g, '');
  return net.isIP(host) ? host : undefined;
}
