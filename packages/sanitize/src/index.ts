export { characterClasses, ibanValid, luhnValid, shannonEntropy } from './checks.js';
export type {
  ArgumentGuard,
  CheckResult,
  GuardVerdict,
  HostLookup,
  PathGuardOptions,
  UrlGuardOptions,
} from './guards.js';
export { blockedAddressReason, checkPath, checkUrl, pathGuard, urlGuard } from './guards.js';
export type {
  GuardInputOptions,
  InjectionMode,
  InputLimits,
  RedactOutputOptions,
  SanitizeOptions,
} from './middleware.js';
export { DEFAULT_LIMITS, guardInput, INJECTION_META_KEY, redactOutput, sanitize } from './middleware.js';
export type { RedactOptions, Redactor, RedactResult, RedactValueResult } from './redact.js';
export { createRedactor, formatPreservingMask, redact, redactValue } from './redact.js';
export type { BuiltinRuleName, Finding, RedactionRule, RedactionStrategy } from './rules.js';
export { BUILTIN_RULE_NAMES, BUILTIN_RULES } from './rules.js';
export type { SchemaLike } from './schema.js';
export type { InjectionState, SanitizePolicy } from './state.js';
export type { StripResult } from './text.js';
export { detectInjection, fenceAsData, INJECTION_PATTERNS, stripInvisible } from './text.js';
export type { ToolFinding } from './tools.js';
export { checkToolDefinitions } from './tools.js';
