import { INVALID_SPAN_CONTEXT, isSpanContextValid, type SpanContext, TraceFlags } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { isValidSpanContext } from '../src/span-context.js';

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const SPAN_ID = 'b7ad6b7169203331';

const context = (traceId: unknown, spanId: unknown): SpanContext =>
  ({ traceId, spanId, traceFlags: TraceFlags.SAMPLED }) as SpanContext;

/** Every case must give the answer of the API's own (regular-expression) check. */
function expectSameAsApi(spanContext: SpanContext): void {
  const label = `${String(spanContext.traceId)} / ${String(spanContext.spanId)}`;
  expect(isValidSpanContext(spanContext), label).toBe(isSpanContextValid(spanContext));
}

describe('isValidSpanContext', () => {
  it('accepts valid ids, lower and upper case, like the API', () => {
    for (const [traceId, spanId] of [
      [TRACE_ID, SPAN_ID],
      [TRACE_ID.toUpperCase(), SPAN_ID.toUpperCase()],
      ['0'.repeat(31) + '1', '0'.repeat(15) + '1'],
      ['f'.repeat(32), 'F'.repeat(16)],
      ['0123456789abcdefABCDEF0123456789', '0123456789ABCDEF'],
    ]) {
      expect(isValidSpanContext(context(traceId, spanId))).toBe(true);
      expectSameAsApi(context(traceId, spanId));
    }
  });

  it('rejects the invalid (all-zero) ids and the API invalid context', () => {
    expect(isValidSpanContext(INVALID_SPAN_CONTEXT)).toBe(false);
    for (const [traceId, spanId] of [
      ['0'.repeat(32), SPAN_ID],
      [TRACE_ID, '0'.repeat(16)],
      ['0'.repeat(32), '0'.repeat(16)],
    ]) {
      expect(isValidSpanContext(context(traceId, spanId))).toBe(false);
      expectSameAsApi(context(traceId, spanId));
    }
  });

  it('agrees with the API for every id length from 0 to 40', () => {
    for (let length = 0; length <= 40; length++) {
      const id = 'a'.repeat(length);
      expectSameAsApi(context(id, SPAN_ID));
      expectSameAsApi(context(TRACE_ID, id));
      expectSameAsApi(context(`${id}\n`, SPAN_ID));
    }
  });

  it('agrees with the API for every UTF-16 code unit at the first, a middle and the last position', () => {
    const disagreements: string[] = [];
    const check = (spanContext: SpanContext) => {
      if (isValidSpanContext(spanContext) !== isSpanContextValid(spanContext)) {
        disagreements.push(JSON.stringify(spanContext));
      }
    };
    let accepted = 0;
    for (let code = 0; code <= 0xffff; code++) {
      const c = String.fromCharCode(code);
      for (const at of [0, 7, 15]) check(context(TRACE_ID, SPAN_ID.slice(0, at) + c + SPAN_ID.slice(at + 1)));
      for (const at of [0, 16, 31])
        check(context(TRACE_ID.slice(0, at) + c + TRACE_ID.slice(at + 1), SPAN_ID));
      if (isValidSpanContext(context(TRACE_ID, c + SPAN_ID.slice(1)))) accepted++;
    }
    expect(disagreements).toEqual([]);
    // Exactly 0-9, a-f and A-F.
    expect(accepted).toBe(22);
  });

  it('agrees with the API on surrogate pairs, line breaks and case-folding look-alikes', () => {
    for (const odd of ['\u{1F600}', '\u017F', '\u212A', '\uFF41', '\u0430', '\r', '\n', ' ', '\u0000']) {
      expectSameAsApi(context(TRACE_ID.slice(0, 30) + odd, SPAN_ID));
      expectSameAsApi(context(TRACE_ID, SPAN_ID.slice(0, 14) + odd));
      expectSameAsApi(context(odd + TRACE_ID, SPAN_ID));
      expectSameAsApi(context(TRACE_ID, SPAN_ID + odd));
    }
  });

  it('leaves ids that are not strings to the API check (same answer, no throw)', () => {
    const hexObject = { toString: () => TRACE_ID };
    const spanObject = { toString: () => SPAN_ID };
    for (const [traceId, spanId] of [
      [undefined, SPAN_ID],
      [TRACE_ID, undefined],
      [null, null],
      [1234, SPAN_ID],
      [12345678901234567890123456789012n, SPAN_ID],
      [hexObject, spanObject],
      [TRACE_ID, spanObject],
    ]) {
      expect(() => isValidSpanContext(context(traceId, spanId))).not.toThrow();
      expectSameAsApi(context(traceId, spanId));
    }
    expect(isValidSpanContext(context(hexObject, spanObject))).toBe(true);
    expect(isValidSpanContext(context(12345678901234567890123456789012n, SPAN_ID))).toBe(true);
  });
});
