import type { AuditEvent, AuditSink } from './types.js';

/**
 * A writable stream, such as `process.stdout` or `process.stderr`.
 *
 * @example
 * ```ts
 * const stream: LineStream = process.stderr;
 * ```
 */
export interface LineStream {
  write(chunk: string, callback: (err?: Error | null) => void): boolean;
}

/**
 * Options of {@link stdoutSink}.
 *
 * @example
 * ```ts
 * stdoutSink({ stream: process.stderr });
 * ```
 */
export interface StdoutSinkOptions {
  /** Where lines go. Default `process.stdout`; use `process.stderr` for stdio MCP servers. */
  stream?: LineStream;
  /** Sink name (spill file name). Default `stdout`. */
  name?: string;
}

/**
 * Writes each event as one JSON line, for log collectors that read a container's output.
 * Do not use `process.stdout` with the stdio MCP transport: stdout carries the protocol there.
 *
 * @example
 * ```ts
 * import { audit, stdoutSink } from '@mcp-harden/audit';
 * const trail = audit({ sinks: [stdoutSink()], spillDir: './audit-spill' });
 * ```
 */
export function stdoutSink(options: StdoutSinkOptions = {}): AuditSink {
  const stream = options.stream ?? process.stdout;
  if (!stream || typeof stream.write !== 'function')
    throw new TypeError('stdoutSink: stream must be writable');
  return {
    name: options.name ?? 'stdout',
    write(events: readonly AuditEvent[]) {
      let text = '';
      for (const event of events) text += `${JSON.stringify(event)}\n`;
      return new Promise<void>((resolve, reject) => {
        stream.write(text, (err) => (err ? reject(err) : resolve()));
      });
    },
  };
}
