export type { CorsOptions } from './guards.js';
export type {
  AnyHardenedServer,
  Authenticator,
  CheckReport,
  McpHandler,
  McpHandlerOptions,
  ReadinessReport,
  SessionOptions,
  ShutdownResult,
} from './handler.js';
export { createMcpHandler } from './handler.js';
export type { ProtectedResourceMetadata, ServedMcp, ServeOptions, ShutdownOptions } from './serve.js';
export { serve } from './serve.js';
export type { RedisLike, RedisStoreOptions, SessionRecord, SessionStore } from './sessions.js';
export { memorySessionStore, redisEventStore, redisSessionStore } from './sessions.js';
export type { TimeoutOptions } from './timeout.js';
export { timeout } from './timeout.js';
