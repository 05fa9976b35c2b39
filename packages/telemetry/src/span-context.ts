import { INVALID_SPANID, INVALID_TRACEID, isSpanContextValid, type SpanContext } from '@opentelemetry/api';

/** 1 for the characters `[0-9a-fA-F]` (ASCII only), 0 for every other code below 128. */
const HEX_DIGIT = new Uint8Array(128);
for (const digit of '0123456789abcdefABCDEF') HEX_DIGIT[digit.charCodeAt(0)] = 1;

function isHexOfLength(value: string, length: number): boolean {
  if (value.length !== length) return false;
  for (let i = 0; i < length; i++) {
    const code = value.charCodeAt(i);
    if (code > 127 || HEX_DIGIT[code] === 0) return false;
  }
  return true;
}

/**
 * Exactly `isSpanContextValid` of `@opentelemetry/api` (ids matching `/^[0-9a-f]{32}$/i` and
 * `/^[0-9a-f]{16}$/i`, not all zeros), checked with a lookup table instead of its two regular
 * expressions (a third of the cost on every request). Ids that are not strings go to the API's
 * own check. Internal: not exported from the package.
 *
 * @example
 * ```ts
 * if (isValidSpanContext(span.spanContext())) ctx.state.trace = { traceId, spanId };
 * ```
 */
export function isValidSpanContext(spanContext: SpanContext): boolean {
  const { traceId, spanId } = spanContext;
  if (typeof traceId !== 'string' || typeof spanId !== 'string') return isSpanContextValid(spanContext);
  return (
    isHexOfLength(traceId, 32) &&
    traceId !== INVALID_TRACEID &&
    isHexOfLength(spanId, 16) &&
    spanId !== INVALID_SPANID
  );
}
