import { isPrivateAddress, privateTargetReason } from '../../../src/notifications/target-guard.js';

describe('webhook target guard', () => {
  it.each([
    ['127.0.0.1', true],
    ['10.1.2.3', true],
    ['172.16.0.1', true],
    ['172.32.0.1', false],
    ['192.168.1.10', true],
    ['169.254.169.254', true],
    ['100.64.0.1', true],
    ['0.0.0.0', true],
    ['8.8.8.8', false],
    ['140.82.112.3', false],
    ['::1', true],
    ['fd00::1', true],
    ['fe80::1', true],
    ['::ffff:10.0.0.1', true],
    ['2606:4700:4700::1111', false],
  ])('%s private: %s', (address, expected) => {
    expect(isPrivateAddress(address)).toBe(expected);
  });

  it('resolves host names before deciding', async () => {
    expect(await privateTargetReason('http://localhost:9/hook')).toMatch(
      /private or reserved address/,
    );
    expect(await privateTargetReason('https://[::1]/hook')).toMatch(/::1/);
    expect(await privateTargetReason('https://93.184.216.34/hook')).toBeNull();
  });
});
