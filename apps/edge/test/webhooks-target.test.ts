/**
 * The webhook SSRF policy (apps/edge/src/webhooks/target.ts): which addresses and URLs are refused,
 * class by class, in the spellings a URL parser or a resolver produces; and the Node sender's
 * resolution step (every address checked) with the system resolver and a stand-in one.
 */
import { describe, expect, it } from 'vitest';
import { resolveWebhookHost, systemResolver } from '../src/webhooks/node-sender.ts';
import { canonicalIp, checkWebhookUrl, classifyAddress, isPublicAddress, refuseAddress } from '../src/webhooks/target.ts';

/** Every class refused by default, with addresses at the edges of each range and the odd spellings. */
const REFUSED: Record<string, readonly string[]> = {
  loopback: ['127.0.0.1', '127.255.255.254', '127.1', '2130706433', '0177.0.0.1', '0x7f.0.0.1', '0x7f000001', '::1', '0:0:0:0:0:0:0:1', '[::1]'],
  private: ['10.0.0.1', '10.255.255.255', '172.16.0.1', '172.31.255.255', '192.168.0.1', '192.168.255.255', '012.0.0.1', '167772161', 'fec0::1'],
  'shared (CGNAT)': ['100.64.0.1', '100.127.255.255'],
  'link-local': ['169.254.169.254', '169.254.0.1', '0xa9fea9fe', '2852039166', 'fe80::1', 'febf::1', 'fe80::1%eth0'],
  'unique-local': ['fc00::1', 'fd12:3456:789a::1', 'fdff:ffff::1'],
  unspecified: ['0.0.0.0', '0', '::', '0:0:0:0:0:0:0:0'],
  multicast: ['224.0.0.1', '239.255.255.250', 'ff02::1', 'ff05::fb'],
  broadcast: ['255.255.255.255', '4294967295'],
  documentation: ['192.0.2.1', '198.51.100.7', '203.0.113.9', '2001:db8::1', '3fff::1'],
  reserved: ['0.1.2.3', '192.0.0.8', '198.18.0.1', '198.19.255.255', '240.0.0.1', '::2', '100::1', '2001::1', '2001:2::1', '::127.0.0.1', '::ffff:0:7f00:1'],
};

/** IPv6 forms that embed an IPv4 address are judged by that address. */
const EMBEDDED: Record<string, string> = {
  '::ffff:127.0.0.1': 'loopback',
  '::ffff:7f00:1': 'loopback',
  '[::ffff:127.0.0.1]': 'loopback',
  '::ffff:10.0.0.1': 'private',
  '::ffff:169.254.169.254': 'link-local',
  '::ffff:100.64.0.1': 'shared (CGNAT)',
  '::ffff:0.0.0.0': 'unspecified',
  '64:ff9b::127.0.0.1': 'loopback',
  '64:ff9b::a9fe:a9fe': 'link-local',
  '64:ff9b::192.168.1.1': 'private',
  '64:ff9b:1::8.8.8.8': 'private',
  '2002:7f00:1::1': 'loopback',
  '2002:c0a8:101::1': 'private',
};

const PUBLIC = [
  '8.8.8.8',
  '1.1.1.1',
  '93.184.215.14',
  '100.63.255.255',
  '100.128.0.0',
  '172.15.255.255',
  '172.32.0.0',
  '169.253.255.255',
  '11.0.0.1',
  '223.255.255.255',
  '2606:4700:4700::1111',
  '2a00:1450:4007:80e::200e',
  '::ffff:8.8.8.8',
  '64:ff9b::808:808',
  '2002:808:808::1',
];

describe('isPublicAddress / classifyAddress', () => {
  for (const [kind, addresses] of Object.entries(REFUSED)) {
    it(`refuses ${kind} addresses`, () => {
      for (const ip of addresses) {
        expect(classifyAddress(ip), ip).toBe(kind);
        expect(isPublicAddress(ip), ip).toBe(false);
      }
    });
  }

  it('judges IPv4-mapped, NAT64 and 6to4 IPv6 addresses by the IPv4 address in them', () => {
    for (const [ip, kind] of Object.entries(EMBEDDED)) expect(classifyAddress(ip), ip).toBe(kind);
  });

  it('accepts public unicast addresses, including next to the refused ranges', () => {
    for (const ip of PUBLIC) expect(classifyAddress(ip), ip).toBe('public');
  });

  it('never takes a host name or garbage for an address', () => {
    for (const s of ['localhost', 'example.com', '', '1.2.3.4.5', '256.0.0.1', 'foo.0x7f', '1e3', '::g', '1::2::3', '[::1', '127.0.0.1/8', '127.0.0.1:80']) {
      expect(classifyAddress(s), s).toBe('not an IP address');
      expect(isPublicAddress(s), s).toBe(false);
    }
  });

  it('canonicalises the spellings a URL parser normalises', () => {
    expect(canonicalIp('2130706433')).toBe('127.0.0.1');
    expect(canonicalIp('0x7f.1')).toBe('127.0.0.1');
    expect(canonicalIp('0177.0.0.01')).toBe('127.0.0.1');
    expect(canonicalIp('::FFFF:127.0.0.1')).toBe('::ffff:7f00:1');
    expect(canonicalIp('0:0:0:0:0:0:0:1')).toBe('::1');
  });

  it('lets everything that is an address through with allowPrivate', () => {
    expect(refuseAddress('127.0.0.1', { allowPrivate: true })).toBeNull();
    expect(refuseAddress('169.254.169.254')).toMatch(/169\.254\.169\.254 is a link-local address: .*WEBHOOK_ALLOW_PRIVATE=1/);
    expect(refuseAddress('nope', { allowPrivate: true })).toMatch(/not an IP address/);
  });
});

describe('checkWebhookUrl', () => {
  const reasonOf = (url: string, allowPrivate = false) => {
    const r = checkWebhookUrl(url, { allowPrivate });
    return r.ok ? null : r.reason;
  };

  it('accepts https URLs on any port, and names the host to resolve', () => {
    const r = checkWebhookUrl('https://hooks.example.com:8443/aurora?x=1');
    expect(r).toMatchObject({ ok: true, hostname: 'hooks.example.com', ip: null });
    expect(checkWebhookUrl('https://8.8.8.8/')).toMatchObject({ ok: true, hostname: '8.8.8.8', ip: '8.8.8.8' });
    expect(checkWebhookUrl('https://[2606:4700:4700::1111]:9/')).toMatchObject({ ok: true, ip: '2606:4700:4700::1111' });
    expect(checkWebhookUrl('https://example.com./')).toMatchObject({ ok: true, hostname: 'example.com' });
  });

  it('refuses http (unless allowPrivate), other schemes, credentials and non-URLs', () => {
    expect(reasonOf('http://example.com/hook')).toMatch(/must be an https URL, got http: \(http only with WEBHOOK_ALLOW_PRIVATE=1\)/);
    expect(reasonOf('http://example.com/hook', true)).toBeNull();
    expect(reasonOf('ftp://example.com/', true)).toMatch(/must be an http\(s\) URL/);
    expect(reasonOf('file:///etc/passwd')).toMatch(/https/);
    expect(reasonOf('https://user:pw@example.com/')).toMatch(/user name or password/);
    expect(reasonOf('https://user@example.com/', true)).toMatch(/user name or password/);
    expect(reasonOf('/relative')).toMatch(/absolute https URL/);
    expect(reasonOf('')).toMatch(/absolute https URL/);
  });

  it('refuses literal addresses of every refused class, in any spelling, and localhost names', () => {
    for (const host of [
      '127.0.0.1',
      '2130706433',
      '0177.0.0.1',
      '0x7f.1',
      '[::1]',
      '[::ffff:127.0.0.1]',
      '[64:ff9b::7f00:1]',
      '10.1.2.3',
      '169.254.169.254',
      '[fe80::1]',
      '[fd00::1]',
      '0.0.0.0',
      '[::]',
      '224.0.0.1',
      '255.255.255.255',
      '100.64.1.1',
      'localhost',
      'LOCALHOST.',
      'api.localhost',
    ]) {
      expect(reasonOf(`https://${host}:8443/hook`), host).toMatch(/(address|loopback name): webhooks go to public addresses only/);
      expect(reasonOf(`http://${host}:8443/hook`, true), host).toBeNull();
    }
  });
});

describe('resolveWebhookHost (the Node sender: every resolved address is checked)', () => {
  const stub = (answers: Record<string, string[]>) => async (hostname: string) =>
    (answers[hostname] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

  it('refuses localhost as the system resolver answers it (127.0.0.1 / ::1)', async () => {
    expect((await systemResolver('localhost')).length).toBeGreaterThan(0);
    await expect(resolveWebhookHost({ hostname: 'localhost', ip: null }, {})).rejects.toThrow(/localhost resolves to (127\.0\.0\.1|::1) is a loopback address/);
    expect(await resolveWebhookHost({ hostname: 'localhost', ip: null }, { allowPrivate: true })).toMatchObject({
      address: expect.stringMatching(/^(127\.0\.0\.1|::1)$/),
    });
  });

  it('refuses a name when ANY of its addresses is not public, and connects to the checked one otherwise', async () => {
    const resolve = stub({
      'mixed.example': ['93.184.215.14', '10.0.0.5'],
      'meta.example': ['169.254.169.254'],
      'mapped.example': ['::ffff:127.0.0.1'],
      'fine.example': ['2606:4700:4700::1111', '1.1.1.1'],
    });
    await expect(resolveWebhookHost({ hostname: 'mixed.example', ip: null }, {}, resolve)).rejects.toThrow(
      /mixed\.example resolves to 10\.0\.0\.5 is a private address/,
    );
    await expect(resolveWebhookHost({ hostname: 'meta.example', ip: null }, {}, resolve)).rejects.toThrow(/link-local/);
    await expect(resolveWebhookHost({ hostname: 'mapped.example', ip: null }, {}, resolve)).rejects.toThrow(/loopback/);
    await expect(resolveWebhookHost({ hostname: 'nothing.example', ip: null }, {}, resolve)).rejects.toThrow(/resolves to no address/);
    expect(await resolveWebhookHost({ hostname: 'fine.example', ip: null }, {}, resolve)).toEqual({ address: '2606:4700:4700::1111', family: 6 });
    // A literal address needs no resolution.
    expect(await resolveWebhookHost({ hostname: '8.8.8.8', ip: '8.8.8.8' }, {}, resolve)).toEqual({ address: '8.8.8.8', family: 4 });
  });
});
