import { lookup as dnsLookup } from 'node:dns/promises';
import { realpath } from 'node:fs/promises';
import { isIP } from 'node:net';
import path from 'node:path';
import type { HardenContext } from '@mcp-harden/core';

/** The verdict of a guard: `undefined` accepts, a short reason string refuses. */
export type GuardVerdict = string | undefined;

/**
 * A check on one argument value. It returns a short, stable reason to refuse (never the value
 * itself), or `undefined` to accept.
 *
 * @example
 * ```ts
 * const noWildcards: ArgumentGuard = (value) => (typeof value === 'string' && value.includes('*') ? 'wildcard' : undefined);
 * sanitize({ guards: { 'queries[*]': noWildcards } });
 * ```
 */
export type ArgumentGuard = (
  value: unknown,
  info: { path: string; ctx: HardenContext | undefined },
) => GuardVerdict | Promise<GuardVerdict>;

/** The outcome of {@link checkPath} / {@link checkUrl}. */
export type CheckResult = { ok: true; value: string } | { ok: false; reason: string };

/**
 * Options of {@link pathGuard} and {@link checkPath}.
 *
 * @example
 * ```ts
 * pathGuard({ roots: ['/srv/data', '/tmp/uploads'] });
 * ```
 */
export interface PathGuardOptions {
  /** Directories paths must stay inside (required). Relative paths resolve against the first root. */
  roots: readonly string[];
  /** Resolve symlinks with `fs.realpath` and refuse paths that escape a root through one. Default `true`. */
  followSymlinks?: boolean;
}

const fail = (reason: string): CheckResult => ({ ok: false, reason });

function decodeLayers(value: string): string[] {
  const layers = [value];
  let current = value;
  for (let i = 0; i < 3 && /%[0-9a-f]{2}/i.test(current); i++) {
    try {
      current = decodeURIComponent(current);
    } catch {
      return [...layers, '\u0000'];
    }
    layers.push(current);
  }
  return layers;
}

const TRAVERSAL = /(?:^|[\\/])\.\.(?:[\\/]|$)/;

function within(root: string, target: string): boolean {
  const rel = path.relative(root, target);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

async function realpathOfExisting(target: string): Promise<string> {
  // Resolves the longest existing prefix, so a not-yet-created file under a symlinked directory is still checked.
  let current = target;
  const rest: string[] = [];
  for (let i = 0; i < 256; i++) {
    try {
      return path.join(await realpath(current), ...rest.reverse());
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
      const parent = path.dirname(current);
      if (parent === current) return target;
      rest.push(path.basename(current));
      current = parent;
    }
  }
  throw new Error('path too deep');
}

function checkPathOptions(options: PathGuardOptions): string[] {
  if (!options || !Array.isArray(options.roots) || options.roots.length === 0) {
    throw new TypeError('pathGuard: roots must be a non-empty array of absolute directories');
  }
  for (const root of options.roots) {
    if (typeof root !== 'string' || !path.isAbsolute(root))
      throw new TypeError('pathGuard: every root must be absolute');
  }
  return options.roots.map((r) => path.resolve(r));
}

/**
 * Checks that a file path stays inside allowed roots: no `..` segment in any separator style or
 * percent-decoded / Unicode-normalized form, no NUL, no absolute path outside the roots, no Windows
 * drive or UNC path, and (by default) no symlink leading outside. Resolves with the resolved path.
 *
 * @example
 * ```ts
 * import { checkPath } from '@mcp-harden/sanitize';
 * await checkPath('notes/a.txt', { roots: ['/srv/data'] }); // { ok: true, value: '/srv/data/notes/a.txt' }
 * await checkPath('../etc/passwd', { roots: ['/srv/data'] }); // { ok: false, reason: 'traversal' }
 * ```
 */
export async function checkPath(value: unknown, options: PathGuardOptions): Promise<CheckResult> {
  const roots = checkPathOptions(options);
  if (typeof value !== 'string') return fail('not-a-string');
  if (value.length === 0 || value.length > 4096) return fail('invalid-path');
  if (value.includes('\u0000')) return fail('invalid-path');
  const layers = decodeLayers(value);
  for (const [i, layer] of layers.entries()) {
    if (layer.includes('\u0000')) return fail(i === 0 ? 'invalid-path' : 'invalid-encoding');
    const normalized = layer.normalize('NFKC');
    if (TRAVERSAL.test(layer) || TRAVERSAL.test(normalized))
      return fail(i === 0 ? 'traversal' : 'encoded-traversal');
    if (i > 0 && /[\\/]/.test(layer) && !/[\\/]/.test(layers[i - 1]!)) return fail('encoded-separator');
  }
  if (value.includes('\\') || /^[A-Za-z]:/.test(value)) return fail('windows-path');
  const resolved = path.resolve(roots[0]!, value);
  const root = roots.find((r) => within(r, resolved));
  if (root === undefined) return fail('outside-roots');
  if (options.followSymlinks === false) return { ok: true, value: resolved };
  try {
    const [real, realRoots] = await Promise.all([
      realpathOfExisting(resolved),
      Promise.all(roots.map((r) => realpathOfExisting(r))),
    ]);
    if (!realRoots.some((r) => within(r, real))) return fail('symlink-escape');
    return { ok: true, value: real };
  } catch {
    return fail('unresolvable-path');
  }
}

/**
 * An argument guard confining file paths to `roots`; see {@link checkPath}.
 *
 * @example
 * ```ts
 * import { pathGuard, sanitize } from '@mcp-harden/sanitize';
 * sanitize({ guards: { path: pathGuard({ roots: ['/srv/data'] }) } });
 * ```
 */
export function pathGuard(options: PathGuardOptions): ArgumentGuard {
  checkPathOptions(options);
  return async function guardPath(value) {
    const result = await checkPath(value, options);
    return result.ok ? undefined : result.reason;
  };
}

/** Parses an IPv4 or IPv6 literal into bytes (4 or 16); `undefined` when it is neither. */
function ipBytes(address: string): number[] | undefined {
  const kind = isIP(address);
  if (kind === 4) return address.split('.').map(Number);
  if (kind !== 6) return undefined;
  let text = address.toLowerCase();
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  let tail: number[] = [];
  const v4 = /(\d{1,3}(?:\.\d{1,3}){3})$/.exec(text);
  if (v4) {
    tail = v4[1]!.split('.').map(Number);
    text = text.slice(0, -v4[1]!.length) + '0:0';
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((h) => Number.parseInt(h, 16)));
  const left = parse(head);
  const right = rest === undefined ? [] : parse(rest);
  const groups = [...left, ...new Array(8 - left.length - right.length).fill(0), ...right];
  const bytes = groups.flatMap((g) => [g >> 8, g & 0xff]);
  if (tail.length === 4) bytes.splice(12, 4, ...tail);
  return bytes;
}

function inV4(bytes: number[], base: [number, number, number, number], bits: number): boolean {
  for (let i = 0; i < 4; i++) {
    const take = Math.max(0, Math.min(8, bits - i * 8));
    if (take === 0) return true;
    const mask = (0xff << (8 - take)) & 0xff;
    if ((bytes[i]! & mask) !== (base[i]! & mask)) return false;
  }
  return true;
}

const BLOCKED_V4: Array<[[number, number, number, number], number, string]> = [
  [[0, 0, 0, 0], 8, 'unspecified'],
  [[10, 0, 0, 0], 8, 'private'],
  [[100, 64, 0, 0], 10, 'cgnat'],
  [[127, 0, 0, 0], 8, 'loopback'],
  [[169, 254, 0, 0], 16, 'link-local'],
  [[172, 16, 0, 0], 12, 'private'],
  [[192, 0, 0, 0], 24, 'reserved'],
  [[192, 0, 2, 0], 24, 'documentation'],
  [[192, 88, 99, 0], 24, 'reserved'],
  [[192, 168, 0, 0], 16, 'private'],
  [[198, 18, 0, 0], 15, 'benchmarking'],
  [[198, 51, 100, 0], 24, 'documentation'],
  [[203, 0, 113, 0], 24, 'documentation'],
  [[224, 0, 0, 0], 4, 'multicast'],
  [[240, 0, 0, 0], 4, 'reserved'],
];

const METADATA_V4 = new Set(['169.254.169.254', '169.254.170.2', '100.100.100.200', '192.0.0.192']);

/**
 * Why an IP address must not be reached from a tool (loopback, private, link-local, CGNAT, cloud
 * metadata, unique-local, IPv4-mapped/NAT64/6to4 forms of those, multicast, reserved), or
 * `undefined` when it is a public unicast address.
 *
 * @example
 * ```ts
 * import { blockedAddressReason } from '@mcp-harden/sanitize';
 * blockedAddressReason('::ffff:127.0.0.1'); // 'loopback'
 * blockedAddressReason('93.184.216.34'); // undefined
 * ```
 */
export function blockedAddressReason(address: string): string | undefined {
  const bytes = ipBytes(address);
  if (!bytes) return 'not-an-ip';
  if (bytes.length === 4) {
    const dotted = bytes.join('.');
    if (METADATA_V4.has(dotted)) return 'metadata';
    if (dotted === '255.255.255.255') return 'broadcast';
    return BLOCKED_V4.find(([base, bits]) => inV4(bytes, base, bits))?.[2];
  }
  const b = bytes;
  const zeroUntil = (n: number) => b.slice(0, n).every((x) => x === 0);
  const embedded = (from: number) => blockedAddressReason(b.slice(from, from + 4).join('.'));
  if (zeroUntil(15) && b[15] === 1) return 'loopback';
  if (zeroUntil(16)) return 'unspecified';
  if (zeroUntil(10) && b[10] === 0xff && b[11] === 0xff) return embedded(12) ?? undefined; // IPv4-mapped
  if (zeroUntil(12)) return embedded(12) ?? 'reserved'; // IPv4-compatible (deprecated)
  if (b[0] === 0 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b) return embedded(12) ?? undefined; // NAT64
  if (b[0] === 0x20 && b[1] === 0x02) return embedded(2) ?? undefined; // 6to4
  if (b[0] === 0xfd && b[1] === 0x00 && b[2] === 0x0e && b[3] === 0xc2) return 'metadata'; // fd00:ec2::/32
  if ((b[0]! & 0xfe) === 0xfc) return 'unique-local';
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0x80) return 'link-local';
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0xc0) return 'site-local';
  if (b[0] === 0xff) return 'multicast';
  if (b[0] === 0x20 && b[1] === 0x01 && b[2] === 0x0d && b[3] === 0xb8) return 'documentation';
  if (b[0] === 0x01 && b[1] === 0x00 && b.slice(2, 8).every((x) => x === 0)) return 'discard';
  if (b[0] === 0x20 && b[1] === 0x01 && b[2] === 0x00 && b[3] === 0x00) return 'teredo';
  return undefined;
}

/** Resolves a host name to all its addresses, like `dns.promises.lookup(host, { all: true })`. */
export type HostLookup = (hostname: string) => Promise<ReadonlyArray<{ address: string }>>;

/**
 * Options of {@link urlGuard} and {@link checkUrl}.
 *
 * @example
 * ```ts
 * urlGuard({ hosts: ['*.example.com'], schemes: ['https'], resolveDns: true });
 * ```
 */
export interface UrlGuardOptions {
  /** Allowed host names; `*.example.com` matches sub-domains only. Omit to allow any public host. */
  hosts?: readonly string[];
  /** Allowed schemes, without `:`. Default `['https']`. */
  schemes?: readonly string[];
  /**
   * Resolve host names and refuse when any address is private (opt-in: it costs a DNS lookup per
   * call, and the tool must still connect to the checked address to be safe from DNS rebinding).
   */
  resolveDns?: boolean;
  /** Resolver used when `resolveDns` is on; defaults to `dns.promises.lookup` with `all: true`. */
  lookup?: HostLookup;
  /** Allowed ports; default any. */
  ports?: readonly number[];
}

const BLOCKED_NAMES =
  /^(?:localhost|.*\.localhost|metadata|metadata\.google\.internal|.*\.internal|instance-data|.*\.local)$/;

const defaultLookup: HostLookup = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

function checkUrlOptions(options: UrlGuardOptions): { schemes: Set<string>; hosts: string[] | undefined } {
  if (!options || typeof options !== 'object') throw new TypeError('urlGuard: options are required');
  const schemes = options.schemes ?? ['https'];
  if (
    !Array.isArray(schemes) ||
    schemes.length === 0 ||
    schemes.some((s) => !/^[a-z][a-z0-9+.-]*$/.test(s))
  ) {
    throw new TypeError('urlGuard: schemes must be lower-case scheme names without ":"');
  }
  if (
    options.hosts !== undefined &&
    (!Array.isArray(options.hosts) || options.hosts.some((h) => typeof h !== 'string'))
  ) {
    throw new TypeError('urlGuard: hosts must be an array of host names');
  }
  if (options.lookup !== undefined && typeof options.lookup !== 'function')
    throw new TypeError('urlGuard: lookup must be a function');
  return { schemes: new Set(schemes), hosts: options.hosts?.map((h) => h.toLowerCase().replace(/\.$/, '')) };
}

function hostAllowed(host: string, allowed: string[]): boolean {
  return allowed.some((pattern) =>
    pattern.startsWith('*.')
      ? host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1
      : host === pattern,
  );
}

/**
 * Checks a URL against allowed schemes and hosts and refuses private, loopback, link-local,
 * CGNAT, unique-local and cloud-metadata destinations, in every IP spelling the WHATWG parser
 * accepts (decimal, octal, hex IPv4; IPv4-mapped IPv6). With `resolveDns`, every address the
 * name resolves to is checked too.
 *
 * @example
 * ```ts
 * import { checkUrl } from '@mcp-harden/sanitize';
 * await checkUrl('http://2130706433/', { schemes: ['http', 'https'] }); // { ok: false, reason: 'loopback' }
 * ```
 */
export async function checkUrl(value: unknown, options: UrlGuardOptions = {}): Promise<CheckResult> {
  const { schemes, hosts } = checkUrlOptions(options);
  if (typeof value !== 'string') return fail('not-a-string');
  if (value.length > 8192) return fail('invalid-url');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return fail('invalid-url');
  }
  if (!schemes.has(url.protocol.slice(0, -1))) return fail('scheme-not-allowed');
  if (url.username !== '' || url.password !== '') return fail('credentials-in-url');
  if (options.ports && url.port !== '' && !options.ports.includes(Number(url.port)))
    return fail('port-not-allowed');
  let host = url.hostname.toLowerCase();
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  host = host.replace(/\.$/, '');
  if (host === '') return fail('invalid-url');
  if (hosts && !hostAllowed(host, hosts)) return fail('host-not-allowed');
  if (isIP(host) !== 0) {
    const reason = blockedAddressReason(host);
    return reason ? fail(reason) : { ok: true, value: url.href };
  }
  if (BLOCKED_NAMES.test(host)) return fail('internal-host');
  if (options.resolveDns) {
    let addresses: ReadonlyArray<{ address: string }>;
    try {
      addresses = await (options.lookup ?? defaultLookup)(host);
    } catch {
      return fail('dns-failure');
    }
    if (addresses.length === 0) return fail('dns-failure');
    for (const { address } of addresses) {
      const reason = blockedAddressReason(address);
      if (reason) return fail(`resolves-to-${reason}`);
    }
  }
  return { ok: true, value: url.href };
}

/**
 * An argument guard for URLs; see {@link checkUrl}.
 *
 * @example
 * ```ts
 * import { sanitize, urlGuard } from '@mcp-harden/sanitize';
 * sanitize({ guards: { url: urlGuard({ hosts: ['api.example.com'], resolveDns: true }) } });
 * ```
 */
export function urlGuard(options: UrlGuardOptions = {}): ArgumentGuard {
  checkUrlOptions(options);
  return async function guardUrl(value) {
    const result = await checkUrl(value, options);
    return result.ok ? undefined : result.reason;
  };
}
