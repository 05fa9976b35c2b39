import type { HardenedSendOptions } from '@mcp-harden/sdk';
import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage, MessageExtraInfo, RequestId } from '@modelcontextprotocol/sdk/types.js';

/** One answer to a request of one HTTP exchange. */
export interface MultiplexAnswer {
  message: JSONRPCMessage;
  refusal?: HardenedSendOptions['refusal'];
}

interface Waiting {
  clientId: RequestId;
  resolve: (answer: MultiplexAnswer) => void;
}

const isResponse = (m: JSONRPCMessage): m is JSONRPCMessage & { id: RequestId } =>
  'id' in m && !('method' in m) && ('result' in m || 'error' in m);

/**
 * A transport shared by many HTTP exchanges in stateless mode: one long-lived server is
 * connected to it once. Each request gets an internal id, unique for the life of the
 * transport, so the ids of different clients never collide; answers are mapped back.
 */
export class MultiplexTransport implements Transport {
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  onmessage?: (<T extends JSONRPCMessage>(message: T, extra?: MessageExtraInfo) => void) | undefined;

  readonly #waiting = new Map<number, Waiting>();
  #next = 0;
  #closed = false;

  async start(): Promise<void> {}

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const [, w] of this.#waiting) {
      w.resolve({
        message: { jsonrpc: '2.0', id: w.clientId, error: { code: -32000, message: 'Connection closed' } },
      });
    }
    this.#waiting.clear();
    this.onclose?.();
  }

  /** Requests waiting for an answer. */
  get pending(): number {
    return this.#waiting.size;
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    if ('method' in message && 'id' in message) {
      // A server-to-client request (sampling, elicitation) has no channel in stateless mode:
      // it fails at once instead of waiting for the SDK's request time-out.
      this.onmessage?.({
        jsonrpc: '2.0',
        id: message.id,
        error: { code: -32601, message: 'Server-to-client requests are not available in stateless mode' },
      } as JSONRPCMessage);
      return;
    }
    // Notifications have no channel in stateless mode either: they are dropped.
    if (!isResponse(message) || typeof message.id !== 'number') return;
    const waiting = this.#waiting.get(message.id);
    if (!waiting) return;
    this.#waiting.delete(message.id);
    const refusal = (options as HardenedSendOptions | undefined)?.refusal;
    if (refusal?.error.code === 'ERR_TIMEOUT') {
      // The pipeline gave up: abort the handler through the SDK's cancellation path.
      this.onmessage?.({
        jsonrpc: '2.0',
        method: 'notifications/cancelled',
        params: { requestId: message.id, reason: 'timed out' },
      });
    }
    waiting.resolve({ message: { ...message, id: waiting.clientId } as JSONRPCMessage, refusal });
  }

  /**
   * Hands the messages of one HTTP exchange to the server. `answers` resolves with the answers to
   * its requests, in order; `cancel()` (the client went away) cancels those still outstanding.
   * A plain function rather than an `AbortSignal`, which would cost several µs per exchange.
   */
  dispatch(
    messages: readonly JSONRPCMessage[],
    extra: MessageExtraInfo,
  ): { answers: Promise<MultiplexAnswer[]>; cancel: () => void } {
    if (this.#closed) return { answers: Promise.reject(new Error('transport closed')), cancel: () => {} };
    const answers: Promise<MultiplexAnswer>[] = [];
    const internalIds: number[] = [];
    for (const message of messages) {
      if ('method' in message && 'id' in message) {
        const internalId = ++this.#next;
        internalIds.push(internalId);
        answers.push(
          new Promise<MultiplexAnswer>((resolve) => {
            this.#waiting.set(internalId, { clientId: message.id, resolve });
          }),
        );
        this.onmessage?.({ ...message, id: internalId }, extra);
      } else if ('method' in message && message.method === 'notifications/cancelled') {
        // A client's request ids mean nothing across exchanges in stateless mode.
      } else if ('method' in message) {
        this.onmessage?.(message, extra);
      }
      // Responses from the client cannot be related to anything in stateless mode: ignored.
    }
    const cancel = () => {
      for (const id of internalIds) {
        const waiting = this.#waiting.get(id);
        if (!waiting) continue;
        this.#waiting.delete(id);
        this.onmessage?.({
          jsonrpc: '2.0',
          method: 'notifications/cancelled',
          params: { requestId: id, reason: 'client disconnected' },
        });
        waiting.resolve({
          message: { jsonrpc: '2.0', id: waiting.clientId, error: { code: -32000, message: 'cancelled' } },
        });
      }
    };
    return { answers: Promise.all(answers), cancel };
  }
}
