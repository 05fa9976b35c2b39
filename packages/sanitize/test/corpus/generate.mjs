#!/usr/bin/env node
// Generates the labelled redaction corpus (test/corpus/corpus.jsonl) deterministically from a seed.
// Every value is synthetic: fake keys in the real formats, valid-checksum cards and IBANs that
// belong to no one, documentation IP ranges and example.com-style domains.
// Run: node test/corpus/generate.mjs   (from packages/sanitize)
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const SEED = 20261122;

/** mulberry32: small, fast, deterministic. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const DIGITS = '0123456789';
const ALNUM = UPPER + LOWER + DIGITS;
const B64 = `${ALNUM}+/`;
const B64URL = `${ALNUM}-_`;
const HEX = '0123456789abcdef';

export function generateCorpus(seed = SEED) {
  const rand = prng(seed);
  const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
  const pick = (list) => list[Math.floor(rand() * list.length)];
  const str = (alphabet, n) => Array.from({ length: n }, () => pick(alphabet)).join('');
  const b64url = (text) => Buffer.from(text).toString('base64url');

  const firstNames = [
    'jane',
    'omar',
    'li',
    'maria',
    'sven',
    'aisha',
    'kenji',
    'paula',
    'tom',
    'noor',
    'ines',
    'raj',
  ];
  const lastNames = [
    'doe',
    'haddad',
    'wei',
    'garcia',
    'olsen',
    'bello',
    'sato',
    'novak',
    'smith',
    'khan',
    'costa',
  ];
  const domains = ['example.com', 'example.org', 'mail.example.net', 'corp.example.co.uk', 'test.example.io'];
  const hosts = ['db.internal.example.com', 'redis.example.net', 'api.example.org', 'queue.example.com'];

  const luhnComplete = (partial) => {
    for (let d = 0; d <= 9; d++) {
      const digits = partial + d;
      let sum = 0;
      let dbl = false;
      for (let i = digits.length - 1; i >= 0; i--) {
        let x = Number(digits[i]);
        if (dbl) {
          x *= 2;
          if (x > 9) x -= 9;
        }
        sum += x;
        dbl = !dbl;
      }
      if (sum % 10 === 0) return digits;
    }
    throw new Error('unreachable');
  };
  const card = () => {
    const kind = pick(['visa', 'mc', 'mc2', 'amex', 'discover']);
    const prefix = {
      visa: '4',
      mc: `5${int(1, 5)}`,
      mc2: `22${int(21, 99)}`,
      amex: `3${pick(['4', '7'])}`,
      discover: '6011',
    }[kind];
    const length = kind === 'amex' ? 15 : 16;
    const digits = luhnComplete(prefix + str(DIGITS, length - prefix.length - 1));
    const style = pick(['plain', 'space', 'dash']);
    if (style === 'plain') return digits;
    const sep = style === 'space' ? ' ' : '-';
    return kind === 'amex'
      ? [digits.slice(0, 4), digits.slice(4, 10), digits.slice(10)].join(sep)
      : digits.match(/.{4}/g).join(sep);
  };
  const ibanLengths = { DE: 22, GB: 22, FR: 27, NL: 18, ES: 24, IT: 27, BE: 16, CH: 21, AT: 20, PL: 28 };
  const iban = () => {
    const country = pick(Object.keys(ibanLengths));
    const bban =
      country === 'GB' || country === 'NL'
        ? str(UPPER, 4) + str(DIGITS, ibanLengths[country] - 8)
        : str(DIGITS, ibanLengths[country] - 4);
    const numeric = [...(bban + country + '00')]
      .map((c) => (c >= 'A' ? String(c.charCodeAt(0) - 55) : c))
      .join('');
    let rem = 0;
    for (const d of numeric) rem = (rem * 10 + Number(d)) % 97;
    const check = String(98 - rem).padStart(2, '0');
    const raw = country + check + bban;
    return rand() < 0.5 ? raw : raw.match(/.{1,4}/g).join(' ');
  };
  const email = () =>
    `${pick(firstNames)}${pick(['.', '_', ''])}${pick(lastNames)}${rand() < 0.3 ? int(1, 99) : ''}@${pick(domains)}`;
  const phone = () =>
    pick([
      () => `+1 ${int(201, 989)} 555 ${String(int(100, 9999)).padStart(4, '0')}`,
      () => `(${int(201, 989)}) 555-${String(int(100, 9999)).padStart(4, '0')}`,
      () => `${int(201, 989)}-555-${String(int(100, 9999)).padStart(4, '0')}`,
      () => `+44 20 7946 ${String(int(0, 9999)).padStart(4, '0')}`,
      () => `+49 30 ${int(100, 999)} ${int(1000, 9999)}`,
      () => `+33 1 ${int(10, 99)} ${int(10, 99)} ${int(10, 99)} ${int(10, 99)}`,
      () => `+61 2 ${int(1000, 9999)} ${int(1000, 9999)}`,
      () => `+1${int(201, 989)}555${String(int(0, 9999)).padStart(4, '0')}`,
    ])();
  const ssn = () => {
    let area = int(1, 899);
    if (area === 666) area = 667;
    return `${String(area).padStart(3, '0')}-${String(int(1, 99)).padStart(2, '0')}-${String(int(1, 9999)).padStart(4, '0')}`;
  };
  const ipv4 = () =>
    pick([
      () => `203.0.113.${int(1, 254)}`,
      () => `198.51.100.${int(1, 254)}`,
      () => `10.${int(0, 255)}.${int(0, 255)}.${int(1, 254)}`,
      () => `192.168.${int(0, 255)}.${int(1, 254)}`,
      () => `${int(11, 223)}.${int(0, 255)}.${int(0, 255)}.${int(1, 254)}`,
    ])();
  const ipv6 = () => {
    const groups = Array.from({ length: 8 }, () => int(0, 0xffff).toString(16));
    groups[0] = '2001';
    groups[1] = 'db8';
    return pick([
      () => groups.join(':'),
      () => `${groups.slice(0, 3).join(':')}::${groups.slice(6).join(':')}`,
      () => `fe80::${groups.slice(4).join(':')}`,
    ])();
  };
  const password = () => str(`${ALNUM}!@#^*-_+=.`, int(10, 24));
  const entropic = (n) => {
    let value = str(B64URL, n);
    while (!(/[a-z]/.test(value) && /[A-Z]/.test(value) && /\d/.test(value))) value = str(B64URL, n);
    return value;
  };
  const jwt = () => {
    const header = b64url(JSON.stringify({ alg: pick(['HS256', 'RS256', 'ES256']), typ: 'JWT' }));
    const payload = b64url(
      JSON.stringify({
        sub: `user-${int(1, 99999)}`,
        iat: int(1.6e9, 1.8e9),
        exp: int(1.8e9, 1.9e9),
        scope: 'read write',
      }),
    );
    return `${header}.${payload}.${str(B64URL, pick([43, 86, 342]))}`;
  };
  const pem = () => {
    const kind = pick(['RSA ', 'EC ', 'OPENSSH ', '', 'ENCRYPTED ']);
    const lines = Array.from({ length: int(3, 12) }, () => str(B64, 64));
    return `-----BEGIN ${kind}PRIVATE KEY-----\n${lines.join('\n')}\n${str(B64, int(8, 60))}==\n-----END ${kind}PRIVATE KEY-----`;
  };

  /** [rule, value generator, templates with {v}] */
  const positives = [
    [
      'aws-access-key-id',
      () => pick(['AKIA', 'ASIA']) + str(UPPER + '0123456789', 16),
      [
        'aws_access_key_id = {v}',
        'export AWS_ACCESS_KEY_ID={v}',
        'Using key {v} for upload',
        '"AccessKeyId": "{v}",',
      ],
    ],
    [
      'aws-secret-access-key',
      () => str(B64, 40),
      ['aws_secret_access_key = {v}', 'export AWS_SECRET_ACCESS_KEY={v}', '"aws_secret_access_key": "{v}"'],
    ],
    [
      'github-token',
      () =>
        rand() < 0.8
          ? pick(['ghp_', 'gho_', 'ghs_']) + str(ALNUM, 36)
          : `github_pat_${str(ALNUM, 22)}_${str(ALNUM, 59)}`,
      [
        'git clone https://x-access-token:{v}@github.com/acme/repo.git',
        'GITHUB_TOKEN={v}',
        'use {v} for the API',
        'token {v}',
      ],
    ],
    [
      'gitlab-token',
      () => `glpat-${str(`${ALNUM}_-`, 20)}`,
      ['GITLAB_TOKEN={v}', 'PRIVATE-TOKEN: {v}', 'the deploy uses {v}'],
    ],
    [
      'slack-token',
      () =>
        rand() < 0.7
          ? `${pick(['xoxb', 'xoxp', 'xoxa'])}-${str(DIGITS, 12)}-${str(DIGITS, 13)}-${str(ALNUM, 24)}`
          : `https://hooks.slack.com/services/T${str(UPPER + DIGITS, 8)}/B${str(UPPER + DIGITS, 10)}/${str(ALNUM, 24)}`,
      ['SLACK_BOT_TOKEN={v}', 'posting with {v}', 'webhook: {v}'],
    ],
    [
      'stripe-key',
      () => `${pick(['sk', 'rk'])}_${pick(['live', 'test'])}_${str(ALNUM, pick([24, 32, 99]))}`,
      ['STRIPE_SECRET_KEY={v}', 'stripe.api_key = "{v}"', 'charged with {v} yesterday'],
    ],
    [
      'google-api-key',
      () => `AIza${str(`${ALNUM}_-`, 35)}`,
      ['GOOGLE_API_KEY={v}', 'maps?key={v}&q=paris', 'key {v} leaked'],
    ],
    [
      'jwt',
      jwt,
      ['Authorization: Bearer {v}', 'id_token={v}', 'cookie session={v}; Path=/', 'token was {v}'],
    ],
    ['private-key', pem, ['{v}', 'key file:\n{v}\n', '"{v}"']],
    [
      'url-credentials',
      () => str(`${ALNUM}!-_.~`, int(8, 20)),
      [
        `postgres://app:{v}@${hosts[0]}:5432/app`,
        `redis://default:{v}@${hosts[1]}:6379`,
        `amqp://svc:{v}@${hosts[3]}/vhost`,
      ],
    ],
    [
      'bearer-token',
      () => entropic(int(24, 48)),
      ['Authorization: Bearer {v}', 'curl -H "authorization: bearer {v}" https://api.example.org'],
    ],
    [
      'secret-assignment',
      password,
      [
        'password={v}',
        'DB_PASSWORD="{v}"',
        '"password": "{v}"',
        'api_key: {v}',
        'client_secret={v}',
        'passwd: {v}',
        "secret => '{v}'",
      ],
    ],
    [
      'high-entropy-assignment',
      () => entropic(int(24, 44)),
      ['session_key={v}', 'signature: {v}', 'X-Auth: {v}', 'cookie_salt = "{v}"'],
    ],
    ['email', email, ['Contact {v} for access', 'From: {v}', '"email": "{v}"', '<{v}>', 'reply to {v}.']],
    ['phone', phone, ['Call me at {v}', 'phone: {v}', '"tel": "{v}"', 'mobile {v} (after 6pm)']],
    ['payment-card', card, ['card {v} exp 04/29', '"pan": "{v}"', 'Paid with {v}.', 'CC: {v}']],
    ['us-ssn', ssn, ['SSN {v}', '"ssn": "{v}"', 'social security number: {v}']],
    ['iban', iban, ['IBAN {v}', 'Please wire to {v} by Friday', '"iban": "{v}"']],
    ['ipv4', ipv4, ['client {v} connected', 'X-Forwarded-For: {v}', 'ssh admin@{v}', 'from {v}:443']],
    ['ipv6', ipv6, ['client {v} connected', 'listen [{v}]:8080', 'addr={v}']],
  ];

  const records = [];
  let id = 0;
  for (const [rule, make, templates] of positives) {
    for (let i = 0; i < 60; i++) {
      const value = make();
      const template = pick(templates);
      records.push({ id: `p${id++}`, label: 'sensitive', rule, value, text: template.replace('{v}', value) });
    }
  }

  const words = (
    'the a service returns list of users order shipped yesterday request timeout retry build deploy ' +
    'release notes cache invalidated token count limit page cursor next previous config loaded from disk ' +
    'password policy requires twelve characters secret santa event key findings latency improved database ' +
    'migration applied successfully session started ended user clicked button report generated invoice total'
  ).split(' ');
  const sentence = () => {
    const n = int(6, 18);
    const s = Array.from({ length: n }, () => pick(words)).join(' ');
    return `${s[0].toUpperCase()}${s.slice(1)}.`;
  };
  const uuid = () => {
    const h = str(HEX, 32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${pick(['8', '9', 'a', 'b'])}${h.slice(17, 20)}-${h.slice(20)}`;
  };
  const semver = () =>
    `${int(0, 30)}.${int(0, 40)}.${int(0, 99)}${rand() < 0.2 ? `-${pick(['beta', 'rc', 'alpha'])}.${int(1, 9)}` : ''}`;
  const isoTime = () =>
    new Date(
      Date.UTC(2020 + int(0, 6), int(0, 11), int(1, 28), int(0, 23), int(0, 59), int(0, 59), int(0, 999)),
    ).toISOString();
  const ident = () =>
    pick(['items', 'user', 'orders', 'config', 'result', 'tokens', 'payload', 'session', 'cache']);

  const benign = [
    () => sentence(),
    () => `${sentence()} ${sentence()}`,
    () => `request ${uuid()} completed in ${int(1, 900)}ms`,
    () => `commit ${str(HEX, 40)} (${pick(['fix', 'feat', 'chore'])}: ${pick(words)} ${pick(words)})`,
    () => `sha256:${createHash('sha256').update(String(rand())).digest('hex')}`,
    () =>
      `md5 ${createHash('md5').update(String(rand())).digest('hex')}  ${pick(['app.tar.gz', 'build.zip'])}`,
    () => `version ${semver()} released; upgrade from v${semver()}`,
    () => `node ${pick(['v18', 'v20', 'v22'])}.${int(0, 20)}.${int(0, 9)}`,
    () => `Order ORD-${int(2019, 2026)}-${String(int(1, 999999)).padStart(6, '0')} shipped`,
    () => `Invoice INV-${int(10000, 99999)} total $${int(1, 9999)}.${String(int(0, 99)).padStart(2, '0')}`,
    () => `ticket #${int(1000, 999999)} closed by ${pick(firstNames)}`,
    () => `at ${isoTime()} level=info msg="${pick(words)} ${pick(words)}"`,
    () => `ts=${int(1.6e9, 1.8e9)} epoch_ms=${int(1.6e12, 1.8e12)}`,
    () => `GET /api/v1/${ident()}/${int(1, 99999)}?page=${int(1, 50)} 200 ${int(1, 500)}ms`,
    () => `const ${ident()}Total = ${ident()}.reduce((a, b) => a + b.${pick(['price', 'qty', 'size'])}, 0);`,
    () =>
      `function ${pick(['tokenize', 'hashPassword', 'verifyToken', 'rotateKey'])}(input: string): string {`,
    () => `interface Credentials { username: string; password: string; token?: string }`,
    () => `const apiKey = process.env.API_KEY;`,
    () => `password: z.string().min(12),`,
    () => `if (!config.secret) throw new Error('missing secret');`,
    () => `max_tokens: ${int(100, 8000)}, temperature: 0.${int(0, 9)}`,
    () => `token_count=${int(1, 100000)} cache_hit=${pick(['true', 'false'])}`,
    () => `primary_key: id, foreign_key: ${ident()}_id`,
    () => `sort_key=${pick(words)} partition_key=${pick(words)}`,
    () => `https://docs.example.com/${pick(words)}/${pick(words)}?id=${int(1, 9999)}#section-${int(1, 9)}`,
    () => `/var/lib/${pick(words)}/${uuid()}.json`,
    () => `color: #${str(HEX, 6)}; margin: ${int(0, 40)}px;`,
    () =>
      `${int(1, 28)}/${int(1, 12)}/${int(2000, 2030)} ${String(int(0, 23)).padStart(2, '0')}:${String(int(0, 59)).padStart(2, '0')}`,
    () => `Build ${int(1, 9999)} took ${int(1, 59)}m ${int(1, 59)}s; ${int(0, 500)} tests passed`,
    () => `listening on localhost:${int(1024, 65535)}`,
    () => `SKU ${str(UPPER, 3)}-${int(100, 999)}-${str(UPPER + DIGITS, 4)} qty ${int(1, 100)}`,
    () => `price: ${int(1, 999)}.${int(10, 99)} EUR, weight ${int(1, 50)}.${int(0, 9)} kg`,
    () => `matrix [${Array.from({ length: 6 }, () => int(0, 999)).join(', ')}]`,
    () => `data:image/png;base64,${str(B64, int(40, 120))}`,
    () => `The password reset link expires in ${int(5, 60)} minutes.`,
    () => `Keep your secret recovery phrase offline.`,
    () => `user_id=${int(1, 9999999)} tenant=${pick(words)} region=eu-west-${int(1, 3)}`,
    () => `lat ${int(-89, 89)}.${str(DIGITS, 6)}, lon ${int(-179, 179)}.${str(DIGITS, 6)}`,
    () => `Section 4.2.1 of RFC ${int(1000, 9999)} says the ${pick(words)} must be ${pick(words)}.`,
    () => `docker pull ghcr.io/example/${pick(words)}:${semver()}@sha256:${str(HEX, 64)}`,
  ];
  for (let i = 0; i < 2400; i++) {
    records.push({ id: `b${i}`, label: 'benign', text: pick(benign)() });
  }
  return records;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = new URL('./corpus.jsonl', import.meta.url);
  const lines = generateCorpus().map((r) => JSON.stringify(r));
  writeFileSync(out, `${lines.join('\n')}\n`);
  console.log(`wrote ${lines.length} records to ${fileURLToPath(out)}`);
}
