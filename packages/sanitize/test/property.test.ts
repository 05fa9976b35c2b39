import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRedactor, type RedactionStrategy } from '../src/index.js';
import { compileSchema } from '../src/schema.js';

const redactor = createRedactor({ hashKey: 'property-test-hmac-key-0123456789' });
const strategies: RedactionStrategy[] = ['mask', 'partial', 'hash', 'remove'];

// Realistic secrets and PII mixed into arbitrary text, so properties exercise real detections.
const sensitive = fc.oneof(
  fc.stringMatching(/^AKIA[A-Z2-7]{16}$/),
  fc.stringMatching(/^ghp_[A-Za-z0-9]{36}$/),
  fc.stringMatching(/^sk_live_[A-Za-z0-9]{24}$/),
  fc.stringMatching(/^[a-z]{1,10}@example\.(?:com|org)$/),
  fc.constantFrom(
    '4111 1111 1111 1111',
    '5500-0000-0000-0004',
    '378282246310005',
    'GB82 WEST 1234 5698 7654 32',
  ),
  fc.constantFrom('123-45-6789', '+1 415 555 0132', '203.0.113.7', '2001:db8::8a2e:370:7334'),
  fc.stringMatching(/^[A-Za-z0-9]{8,20}$/).map((v) => `password=${v}`),
);
const filler = fc.string({
  maxLength: 40,
  unit: fc.constantFrom('a', 'Z', '0', '9', ' ', '.', '-', '@', ':', '=', '\n', '_', '/'),
});
const document = fc
  .array(fc.oneof(filler, sensitive, fc.string({ maxLength: 20 })), { maxLength: 12 })
  .map((parts) => parts.join(' '));

describe('redaction properties', () => {
  it('never throws, on any string and any strategy', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 200 }), document),
        fc.constantFrom(...strategies),
        (text, strategy) => {
          const result = redactor.redact(text, strategy);
          expect(typeof result.text).toBe('string');
        },
      ),
      { numRuns: 400, seed: 20261122 },
    );
  });

  it('never leaves a detected secret of the input in the output', () => {
    fc.assert(
      fc.property(document, fc.constantFrom(...strategies), (text, strategy) => {
        const detected = redactor.detect(text).map((f) => text.slice(f.start, f.end));
        const out = redactor.redact(text, strategy).text;
        for (const value of detected) {
          if (value.length >= 6) expect(out.includes(value)).toBe(false);
        }
      }),
      { numRuns: 400, seed: 20261122 },
    );
  });

  it('masking does not grow new detections: redacting twice changes nothing', () => {
    fc.assert(
      fc.property(
        document,
        fc.constantFrom<RedactionStrategy>('mask', 'partial', 'hash'),
        (text, strategy) => {
          const once = redactor.redact(text, strategy).text;
          expect(redactor.redact(once, strategy).counts).toEqual({});
        },
      ),
      { numRuns: 300, seed: 20261122 },
    );
  });

  it('keeps structured output valid against its schema (format-preserving fallback)', () => {
    const schema = {
      type: 'object',
      required: ['email', 'card', 'note', 'count', 'tags'],
      additionalProperties: false,
      properties: {
        email: { type: 'string', format: 'email' },
        card: { type: 'string', pattern: '^[0-9 ]{13,23}$' },
        note: { type: 'string', maxLength: 200 },
        count: { type: 'integer', minimum: 0 },
        tags: { type: 'array', items: { type: 'string' }, maxItems: 5 },
      },
    };
    const validate = compileSchema(schema, false);
    const value = fc.record({
      email: fc.stringMatching(/^[a-z]{1,10}@example\.com$/),
      card: fc.constantFrom('4111 1111 1111 1111', '4000056655665556', '378282246310005'),
      note: fc.oneof(document, filler).map((s) => s.slice(0, 200)),
      count: fc.nat(),
      tags: fc.array(fc.oneof(sensitive, filler), { maxLength: 5 }),
    });
    fc.assert(
      fc.property(value, (input) => {
        expect(validate(input)).toBe(true);
        let out = redactor.redactValue(input).value;
        if (!validate(out)) out = redactor.redactValue(input, 'format').value;
        expect(validate(out)).toBe(true);
        expect(out.email).not.toBe(input.email);
        expect(out.card).not.toBe(input.card);
      }),
      { numRuns: 300, seed: 20261122 },
    );
  });
});

describe('middleware robustness', () => {
  it('never crashes on arbitrary result shapes: it returns an object or refuses with a HardenError', async () => {
    const { compose, createContext, isHardenError } = await import('@mcp-harden/core');
    const { sanitize } = await import('../src/index.js');
    const chain = compose([sanitize({ maxOutputBytes: 4096 })]);
    const methods = ['tools/call', 'resources/read', 'prompts/get', 'tools/list'] as const;
    const params = {
      'tools/call': { name: 't' },
      'resources/read': { uri: 'x://1' },
      'prompts/get': { name: 'p' },
      'tools/list': {},
    };
    const block = fc.oneof(
      fc.record({ type: fc.constant('text'), text: fc.oneof(document, fc.string()) }),
      fc.record({ type: fc.constant('resource'), resource: fc.record({ uri: fc.string(), text: document }) }),
      fc.jsonValue(),
    );
    const result = fc.record(
      {
        content: fc.oneof(fc.array(block, { maxLength: 4 }), fc.jsonValue()),
        structuredContent: fc.oneof(
          fc.jsonValue(),
          fc.dictionary(fc.string(), fc.oneof(sensitive, fc.jsonValue())),
        ),
        contents: fc.array(fc.oneof(fc.record({ uri: fc.string(), text: document }), fc.jsonValue()), {
          maxLength: 3,
        }),
        messages: fc.array(
          fc.oneof(fc.record({ role: fc.constant('user'), content: block }), fc.jsonValue()),
          { maxLength: 3 },
        ),
        tools: fc.array(
          fc.oneof(
            fc.record({ name: fc.string(), description: fc.string(), inputSchema: fc.jsonValue() }),
            fc.jsonValue(),
          ),
          { maxLength: 3 },
        ),
        description: fc.jsonValue(),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...methods), result, async (method, res) => {
        const ctx = createContext({ method, params: params[method] });
        try {
          const out = await chain(ctx, async () => res as Record<string, unknown>);
          expect(typeof out).toBe('object');
        } catch (err) {
          expect(isHardenError(err)).toBe(true);
        }
      }),
      { numRuns: 300, seed: 20261122 },
    );
  });
});
