import { describe, expect, it } from 'vitest';
import { findSecret } from '../src/secrets.js';

describe('findSecret', () => {
  it.each([
    ['token', 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6MTcwMDAwMDAwMH0.c2lnbmF0dXJlLXNpZ25hdHVyZQ'],
    [
      'key',
      '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----',
    ],
    ['x', 'sk_live_4eC39HqLyjWDarjtT1zdp7dc'],
    ['x', 'ghp_16C7e42F292c6912E7710c838347Ae178B4a'],
    ['x', 'AKIAIOSFODNN7EXAMPLE'],
    ['password', 'hunter2hunter2'],
    ['owner', 'Zx8q2LmP0vR7tY4wK9sB3nF6hJ1cD5gA'],
    ['description', 'xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx'],
    ['x', '4f9c2d8e1a7b3c6d5e0f9a8b7c6d5e4f3a2b1c0d'],
    ['jwksUrl', 'https://user:pa55w0rd@issuer.example.com/jwks'],
  ])('flags %s %s', (key, value) => {
    expect(findSecret(key, value)).toBeTypeOf('string');
  });
  it.each([
    ['issuer', 'https://auth.example.com/'],
    ['jwksUrl', 'https://auth.example.com/.well-known/jwks.json'],
    ['name', 'notes.search_by_tenant_and_date_v2'],
    ['digest', 'sha256:9b74c9897bac770ffc029102a200c5de9b74c9897bac770ffc029102a200c5de'],
    ['owner', 'team-notes@example.com'],
    ['description', 'Searches notes of the caller tenant; read only.'],
    ['audience', 'https://notes.example.com/mcp'],
    ['uri', 'notes://{tenant}/{id}'],
    ['version', '1.2.0'],
    ['sunset', '2027-06-30'],
    ['spillDir', '/var/lib/mcp-harden/spill'],
    ['hashKey', `\${env:REDACTION_HASH_KEY}`],
  ])('leaves %s %s alone', (key, value) => {
    expect(findSecret(key, value)).toBeUndefined();
  });
});

describe('findSecret on paths and names', () => {
  it.each([
    '/tmp/mcp-harden-policy-Xa9bQ2/spill',
    '/var/lib/mcp-harden/audit/quickstart.audit.jsonl',
    'https://auth.example.com/realms/NotesProduction2024/protocol/openid-connect/certs',
    'NotesSearchByTenantAndDate',
  ])('leaves %s alone', (value) => {
    expect(findSecret('path', value)).toBeUndefined();
  });
  it('still flags url-safe base64 tokens', () => {
    expect(findSecret('x', 'dGhpcy1pcy1hLXNlY3JldA_Zx8q2LmP0vR7tY4wK9sB3nF6hJ1c')).toBe(
      'high-entropy-string',
    );
  });
});
