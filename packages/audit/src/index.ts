export { argumentsDigest, canonicalJson } from './canonical.js';
export type { ChainRecord } from './chain.js';
export { chainFiles, chainHash, GENESIS_HASH } from './chain.js';
export { DEFAULT_REDACT_KEYS, redactArguments } from './event.js';
export type { FileSink, FileSinkOptions } from './file-sink.js';
export { fileSink } from './file-sink.js';
export type { AuditMiddleware, AuditOptions } from './middleware.js';
export { audit } from './middleware.js';
export type { PgPoolLike, PostgresSink, PostgresSinkOptions } from './postgres-sink.js';
export { postgresSink } from './postgres-sink.js';
export type { LineStream, StdoutSinkOptions } from './stdout-sink.js';
export { stdoutSink } from './stdout-sink.js';
export type {
  AuditAuthorization,
  AuditDecision,
  AuditDeprecation,
  AuditEvent,
  AuditOutcome,
  AuditPrincipal,
  AuditRateLimit,
  AuditSink,
  SinkStats,
} from './types.js';
export { AUDIT_SCHEMA_VERSION } from './types.js';
export type { ChainBreak, ChainBreakKind, ChainReport, VerifyChainOptions } from './verify.js';
export { formatChainReport, verifyChain } from './verify.js';
