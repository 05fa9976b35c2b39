import type { HealthCheck } from '@mcp-harden/core';
import type { EventStore } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/** What a replica needs to continue a session another replica created. Never holds a credential. */
export interface SessionRecord {
  /** `params` of the client's `initialize` request, replayed to a fresh server on another replica. */
  initialize: Record<string, unknown>;
  /** Subject of the principal that created the session; other principals cannot use it. */
  subject?: string;
}

/** Where sessions live so that any replica can continue them. */
export interface SessionStore {
  load(id: string): Promise<SessionRecord | undefined>;
  /** Saves (or refreshes) a session for `ttlMs`. */
  save(id: string, record: SessionRecord, ttlMs: number): Promise<void>;
  remove(id: string): Promise<void>;
  readonly healthChecks?: readonly HealthCheck[];
}

/**
 * Sessions in process memory: enough for one replica.
 *
 * @example
 * ```ts
 * serve({ mode: 'stateful', createServer, session: { store: memorySessionStore() } });
 * ```
 */
export function memorySessionStore(): SessionStore {
  const sessions = new Map<string, { record: SessionRecord; expiresAt: number }>();
  return {
    async load(id) {
      const entry = sessions.get(id);
      if (!entry) return undefined;
      if (entry.expiresAt <= Date.now()) {
        sessions.delete(id);
        return undefined;
      }
      return entry.record;
    },
    async save(id, record, ttlMs) {
      sessions.set(id, { record, expiresAt: Date.now() + ttlMs });
    },
    async remove(id) {
      sessions.delete(id);
    },
  };
}

/** The subset of an ioredis client the Redis stores use. */
export interface RedisLike {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, mode: 'PX', ttlMs: number): Promise<unknown>;
  del(key: string): Promise<number>;
  incr(key: string): Promise<number>;
  rpush(key: string, value: string): Promise<number>;
  lrange(key: string, start: number, stop: number): Promise<string[]>;
  pexpire(key: string, ttlMs: number): Promise<number>;
  ping(): Promise<string>;
}

/** Options of the Redis stores. */
export interface RedisStoreOptions {
  /** Key prefix; defaults to `mcp-harden:http:`. */
  prefix?: string;
  /** Lifetime of stored events; defaults to one hour. */
  eventTtlMs?: number;
}

function checkRedis(redis: unknown, who: string): asserts redis is RedisLike {
  if (
    !redis ||
    typeof (redis as RedisLike).get !== 'function' ||
    typeof (redis as RedisLike).set !== 'function'
  ) {
    throw new TypeError(`${who}: expected an ioredis client`);
  }
}

function redisHealth(redis: RedisLike, name: string): HealthCheck {
  return {
    name,
    async check() {
      if ((await redis.ping()) !== 'PONG') throw new Error('unexpected PING reply');
    },
  };
}

/**
 * Sessions in Redis, shared by every replica.
 *
 * @example
 * ```ts
 * import Redis from 'ioredis';
 * const redis = new Redis(process.env.REDIS_URL!);
 * serve({ mode: 'stateful', createServer, session: { store: redisSessionStore(redis), eventStore: redisEventStore(redis) } });
 * ```
 */
export function redisSessionStore(redis: RedisLike, options: RedisStoreOptions = {}): SessionStore {
  checkRedis(redis, 'redisSessionStore');
  const prefix = `${options.prefix ?? 'mcp-harden:http:'}session:`;
  return {
    async load(id) {
      const raw = await redis.get(prefix + id);
      if (raw === null) return undefined;
      try {
        const parsed = JSON.parse(raw) as SessionRecord;
        return typeof parsed.initialize === 'object' && parsed.initialize !== null ? parsed : undefined;
      } catch {
        return undefined;
      }
    },
    async save(id, record, ttlMs) {
      await redis.set(prefix + id, JSON.stringify(record), 'PX', Math.max(1, Math.ceil(ttlMs)));
    },
    async remove(id) {
      await redis.del(prefix + id);
    },
    healthChecks: [redisHealth(redis, 'redis-sessions')],
  };
}

/**
 * An SDK `EventStore` in Redis: resumable event streams survive a replica switch, since any
 * replica can replay the events after a client's `Last-Event-ID`.
 *
 * @example
 * ```ts
 * const eventStore = redisEventStore(new Redis(process.env.REDIS_URL!));
 * serve({ mode: 'stateful', createServer, session: { eventStore } });
 * ```
 */
export function redisEventStore(
  redis: RedisLike,
  options: RedisStoreOptions = {},
): EventStore & {
  readonly healthChecks: readonly HealthCheck[];
} {
  checkRedis(redis, 'redisEventStore');
  const prefix = options.prefix ?? 'mcp-harden:http:';
  const ttl = options.eventTtlMs ?? 3_600_000;
  if (!Number.isFinite(ttl) || ttl <= 0) throw new TypeError('redisEventStore: eventTtlMs must be positive');
  const eventKey = (id: string) => `${prefix}event:${id}`;
  const streamKey = (id: string) => `${prefix}stream:${id}`;
  const load = async (eventId: string): Promise<{ s: string; m: JSONRPCMessage } | undefined> => {
    if (!/^\d{1,20}$/.test(eventId)) return undefined;
    const raw = await redis.get(eventKey(eventId));
    if (raw === null) return undefined;
    try {
      return JSON.parse(raw) as { s: string; m: JSONRPCMessage };
    } catch {
      return undefined;
    }
  };
  return {
    async storeEvent(streamId, message) {
      const eventId = String(await redis.incr(`${prefix}event-seq`));
      await redis.set(eventKey(eventId), JSON.stringify({ s: streamId, m: message }), 'PX', ttl);
      await redis.rpush(streamKey(streamId), eventId);
      await redis.pexpire(streamKey(streamId), ttl);
      return eventId;
    },
    async getStreamIdForEventId(eventId) {
      return (await load(eventId))?.s;
    },
    async replayEventsAfter(lastEventId, { send }) {
      const last = await load(lastEventId);
      if (!last) return '';
      const ids = await redis.lrange(streamKey(last.s), 0, -1);
      const after = ids.slice(ids.indexOf(lastEventId) + 1);
      for (const id of after) {
        const event = await load(id);
        // Priming events carry no message; there is nothing to replay for them.
        if (event && 'jsonrpc' in event.m) await send(id, event.m);
      }
      return last.s;
    },
    healthChecks: [redisHealth(redis, 'redis-events')],
  };
}
