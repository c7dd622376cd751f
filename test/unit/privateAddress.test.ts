import { describe, expect, it } from 'vitest';
import { isPrivateAddress } from '../../src/shared/privateAddress.js';
import { resolveWebhookTarget } from '../../src/worker/webhooks/resolveWebhookTarget.js';
import { RefusedTargetError } from '../../src/worker/webhooks/RefusedTargetError.js';

describe('isPrivateAddress', () => {
  it.each([
    '127.0.0.1', '127.255.255.254', '10.0.0.1', '10.255.255.255', '172.16.0.1', '172.31.255.255', '192.168.1.1',
    '169.254.169.254', '100.64.0.1', '100.127.255.255', '0.0.0.0', '0.1.2.3', '224.0.0.1', '255.255.255.255',
    '::', '::1', 'fc00::1', 'fd12:3456::1', 'fe80::1', 'fe80::1%eth0', 'febf::1', 'ff02::1',
    '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.1', '::ffff:169.254.169.254', '::127.0.0.1', '64:ff9b::a00:1', '2002:7f00:1::1',
    'fec0::1', '64:ff9b:1::1', '::ffff:0:a00:1', '::ffff:0:7f00:1',
    '[::1]', 'not-an-ip',
  ])('%s is private', (address) => {
    expect(isPrivateAddress(address)).toBe(true);
  });

  it.each([
    '8.8.8.8', '1.1.1.1', '172.15.255.255', '172.32.0.1', '100.63.255.255', '100.128.0.1', '169.253.0.1', '192.169.0.1', '11.0.0.1',
    '2606:4700:4700::1111', '2001:4860:4860::8888', '::ffff:8.8.8.8', '::ffff:0:808:808', '64:ff9b::808:808', '2002:808:808::1',
  ])('%s is public', (address) => {
    expect(isPrivateAddress(address)).toBe(false);
  });
});

describe('resolveWebhookTarget', () => {
  const resolver = (addresses: string[]) => async () => addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

  it('pins the first address of a public name', async () => {
    const target = await resolveWebhookTarget(new URL('https://hooks.example/x'), false, resolver(['93.184.216.34', '2606:2800::1']));
    expect(target).toEqual({ address: '93.184.216.34', family: 4 });
  });

  it('refuses a name when any of its addresses is private (DNS rebinding, mixed answers)', async () => {
    await expect(resolveWebhookTarget(new URL('https://rebind.example/x'), false, resolver(['93.184.216.34', '127.0.0.1']))).rejects.toBeInstanceOf(RefusedTargetError);
    await expect(resolveWebhookTarget(new URL('https://mapped.example/x'), false, resolver(['::ffff:10.0.0.7']))).rejects.toThrow(/private/);
  });

  it('allows private targets when the operator does', async () => {
    expect(await resolveWebhookTarget(new URL('http://internal.example/x'), true, resolver(['10.0.0.7']))).toEqual({ address: '10.0.0.7', family: 4 });
    expect(await resolveWebhookTarget(new URL('http://[::1]:8080/x'), true)).toEqual({ address: '::1', family: 6 });
  });
});
