import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

/**
 * Webhook targets are chosen by tenants; without this check a webhook could
 * reach the service's own network (metadata endpoints, databases). Addresses
 * are checked after DNS resolution. (A host that re-resolves between this
 * check and the request is not covered; the egress network policy is the
 * second line.)
 */
export function isPrivateAddress(address: string): boolean {
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIP(v4) === 4) {
    const [a = 0, b = 0] = v4.split('.').map(Number);
    return (
      a === 0 ||
      a === 10 ||
      a === 127 ||
      (a === 100 && b >= 64 && b <= 127) || // carrier-grade NAT
      (a === 169 && b === 254) || // link-local, cloud metadata
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 192 && b === 0) ||
      (a === 198 && (b === 18 || b === 19)) ||
      a >= 224 // multicast, reserved, broadcast
    );
  }
  const v6 = address.toLowerCase();
  return (
    v6 === '::' ||
    v6 === '::1' ||
    v6.startsWith('fc') ||
    v6.startsWith('fd') || // unique local
    v6.startsWith('fe8') ||
    v6.startsWith('fe9') ||
    v6.startsWith('fea') ||
    v6.startsWith('feb') || // link-local
    v6.startsWith('ff') // multicast
  );
}

/** Null when the URL may be called; otherwise why not, in words for the delivery log. */
export async function privateTargetReason(url: string): Promise<string | null> {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  const addresses = isIP(host) ? [host] : (await lookup(host, { all: true })).map((a) => a.address);
  const blocked = addresses.find(isPrivateAddress);
  return blocked
    ? `the target resolves to a private or reserved address (${blocked}), which webhooks may not reach`
    : null;
}
