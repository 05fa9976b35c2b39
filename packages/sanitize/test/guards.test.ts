import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blockedAddressReason, checkPath, checkUrl, pathGuard, urlGuard } from '../src/index.js';

describe('checkPath', () => {
  let base: string;
  let root: string;
  let outside: string;

  beforeAll(async () => {
    base = await realpath(await mkdtemp(path.join(tmpdir(), 'sanitize-path-')));
    root = path.join(base, 'root');
    outside = path.join(base, 'outside');
    await mkdir(path.join(root, 'notes'), { recursive: true });
    await mkdir(outside);
    await writeFile(path.join(root, 'notes', 'a.txt'), 'a');
    await writeFile(path.join(outside, 'secret.txt'), 's');
    await symlink(outside, path.join(root, 'escape'));
    await symlink(path.join(outside, 'secret.txt'), path.join(root, 'notes', 'link.txt'));
    await symlink(path.join(root, 'notes'), path.join(root, 'inner'));
  });
  afterAll(async () => {
    await rm(base, { recursive: true, force: true });
  });

  const reason = async (value: unknown) => {
    const result = await checkPath(value, { roots: [root] });
    return result.ok ? 'ok' : result.reason;
  };

  it('accepts relative and absolute paths inside the root, including new files', async () => {
    expect(await reason('notes/a.txt')).toBe('ok');
    expect(await reason(path.join(root, 'notes', 'a.txt'))).toBe('ok');
    expect(await reason('notes/new-file.txt')).toBe('ok');
    expect(await reason('inner/a.txt')).toBe('ok');
    expect(await checkPath('notes/a.txt', { roots: [root] })).toEqual({
      ok: true,
      value: path.join(root, 'notes', 'a.txt'),
    });
  });

  it.each([
    ['../outside/secret.txt', 'traversal'],
    ['notes/../../outside/secret.txt', 'traversal'],
    ['..', 'traversal'],
    ['notes\\..\\..\\outside', 'traversal'],
    ['notes/..\\..\\outside', 'traversal'],
    ['%2e%2e/outside/secret.txt', 'encoded-traversal'],
    ['%2E%2E%2Foutside', 'encoded-traversal'],
    ['%252e%252e/outside', 'encoded-traversal'],
    ['..%2foutside', 'encoded-traversal'],
    ['notes%2f..%2f..%2foutside', 'encoded-traversal'],
    ['\uFF0E\uFF0E/outside/secret.txt', 'traversal'],
    ['notes/a.txt\u0000.png', 'invalid-path'],
    ['notes/a%00.txt', 'invalid-encoding'],
    ['notes/%E0%A4%A', 'invalid-encoding'],
    ['/etc/passwd', 'outside-roots'],
    ['C:\\Windows\\win.ini', 'windows-path'],
    ['\\\\server\\share\\x', 'windows-path'],
    ['escape/secret.txt', 'symlink-escape'],
    ['escape/not-yet-created.txt', 'symlink-escape'],
    ['notes/link.txt', 'symlink-escape'],
    ['', 'invalid-path'],
    [42, 'not-a-string'],
  ])('refuses %j (%s)', async (value, expected) => {
    expect(await reason(value)).toBe(expected);
  });

  it('refuses a root that is a prefix of a sibling directory name', async () => {
    const sibling = `${root}-sibling/file.txt`;
    expect(await reason(sibling)).toBe('outside-roots');
  });

  it('throws TypeError on bad options at construction', () => {
    expect(() => pathGuard({ roots: [] })).toThrow(TypeError);
    expect(() => pathGuard({ roots: ['relative/dir'] })).toThrow(TypeError);
    expect(() => pathGuard(undefined as never)).toThrow(TypeError);
  });
});

describe('checkUrl', () => {
  const http = { schemes: ['http', 'https'] };
  const reason = async (value: unknown, options: Parameters<typeof checkUrl>[1] = http) => {
    const result = await checkUrl(value, options);
    return result.ok ? 'ok' : result.reason;
  };

  it('accepts public hosts on allowed schemes', async () => {
    expect(await reason('https://api.example.com/v1?q=1')).toBe('ok');
    expect(await reason('http://93.184.216.34/')).toBe('ok');
    expect(await reason('https://[2606:4700:4700::1111]/')).toBe('ok');
  });

  it.each([
    ['http://127.0.0.1/', 'loopback'],
    ['http://2130706433/', 'loopback'],
    ['http://0x7f000001/', 'loopback'],
    ['http://0177.0.0.1/', 'loopback'],
    ['http://0x7f.1/', 'loopback'],
    ['http://127.1/', 'loopback'],
    ['http://%31%32%37.0.0.1/', 'loopback'],
    ['http://0x7f.0x0.0x0.0x1/', 'loopback'],
    ['http://①②⑦.0.0.1/', 'loopback'],
    ['http://[::1]/', 'loopback'],
    ['http://[::ffff:127.0.0.1]/', 'loopback'],
    ['http://[::ffff:7f00:1]/', 'loopback'],
    ['http://[0:0:0:0:0:ffff:169.254.169.254]/', 'metadata'],
    ['http://169.254.169.254/latest/meta-data/', 'metadata'],
    ['http://[fd00:ec2::254]/', 'metadata'],
    ['http://100.100.100.200/', 'metadata'],
    ['http://169.254.10.1/', 'link-local'],
    ['http://10.1.2.3/', 'private'],
    ['http://172.20.0.1/', 'private'],
    ['http://192.168.1.1/', 'private'],
    ['http://100.64.0.1/', 'cgnat'],
    ['http://0.0.0.0/', 'unspecified'],
    ['http://[::]/', 'unspecified'],
    ['http://[fc00::1]/', 'unique-local'],
    ['http://[fe80::1]/', 'link-local'],
    ['http://[64:ff9b::a00:1]/', 'private'],
    ['http://[2002:7f00:1::]/', 'loopback'],
    ['http://localhost:8080/', 'internal-host'],
    ['http://LOCALHOST./', 'internal-host'],
    ['http://api.localhost/', 'internal-host'],
    ['http://metadata.google.internal/computeMetadata/v1/', 'internal-host'],
    ['http://user:pw@example.com/', 'credentials-in-url'],
    ['file:///etc/passwd', 'scheme-not-allowed'],
    ['gopher://example.com/', 'scheme-not-allowed'],
    ['not a url', 'invalid-url'],
    [null, 'not-a-string'],
  ])('refuses %s (%s)', async (value, expected) => {
    expect(await reason(value)).toBe(expected);
  });

  it('defaults to https only and enforces the host allow-list', async () => {
    expect(await reason('http://example.com/', {})).toBe('scheme-not-allowed');
    const options = { hosts: ['api.example.com', '*.cdn.example.com'] };
    expect(await reason('https://api.example.com/', options)).toBe('ok');
    expect(await reason('https://img.cdn.example.com/x.png', options)).toBe('ok');
    expect(await reason('https://cdn.example.com/', options)).toBe('host-not-allowed');
    expect(await reason('https://api.example.com.evil.test/', options)).toBe('host-not-allowed');
    expect(await reason('https://evil.test/?https://api.example.com/', options)).toBe('host-not-allowed');
  });

  it('with resolveDns, refuses a name whose addresses are private (real resolver, /etc/hosts)', async () => {
    // The machine's own host name resolves locally (to loopback or a private interface address).
    const name = hostname();
    const result = await checkUrl(`https://${name}/`, { resolveDns: true });
    expect(result.ok).toBe(false);
    expect((result as { reason: string }).reason).toMatch(/^(?:resolves-to-|dns-failure|internal-host)/);
  });

  it('with resolveDns, checks every address a name resolves to', async () => {
    const lookup = async (host: string) =>
      host === 'rebind.example.com'
        ? [{ address: '93.184.216.34' }, { address: '::ffff:10.0.0.5' }]
        : [{ address: '93.184.216.34' }];
    expect(await reason('https://rebind.example.com/', { resolveDns: true, lookup })).toBe(
      'resolves-to-private',
    );
    expect(await reason('https://ok.example.com/', { resolveDns: true, lookup })).toBe('ok');
    const failing = async () => {
      throw new Error('ENOTFOUND');
    };
    expect(await reason('https://nx.example.com/', { resolveDns: true, lookup: failing })).toBe(
      'dns-failure',
    );
    // Without resolveDns, names are not resolved.
    expect(await reason('https://rebind.example.com/', { lookup })).toBe('ok');
  });

  it('throws TypeError on bad options at construction', () => {
    expect(() => urlGuard({ schemes: [] })).toThrow(TypeError);
    expect(() => urlGuard({ schemes: ['https:'] })).toThrow(TypeError);
    expect(() => urlGuard({ hosts: 'example.com' as never })).toThrow(TypeError);
  });

  it('classifies addresses', () => {
    expect(blockedAddressReason('8.8.8.8')).toBeUndefined();
    expect(blockedAddressReason('2001:4860:4860::8888')).toBeUndefined();
    expect(blockedAddressReason('::ffff:8.8.8.8')).toBeUndefined();
    expect(blockedAddressReason('224.0.0.1')).toBe('multicast');
    expect(blockedAddressReason('ff02::1')).toBe('multicast');
    expect(blockedAddressReason('nope')).toBe('not-an-ip');
  });
});
