export type {
  ConcurrencyLevel,
  Limit,
  RateLimitLevel,
  RateLimitOptions,
  RedisClientLike,
  RedisStoreOptions,
  RefusalEvent,
  StoreErrorMode,
  TargetRateLimit,
} from './options.js';
export { DEFAULT_LIMITED_METHODS, RATE_LIMIT_LEVELS } from './options.js';
export type { RateLimitMiddleware, RateLimitState, RateLimitStats } from './rate-limit.js';
export { rateLimit } from './rate-limit.js';
