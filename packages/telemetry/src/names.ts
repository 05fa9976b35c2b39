/**
 * Names of the metrics this package emits, as OpenTelemetry instrument names. A Prometheus
 * exporter exposes them with dots turned into underscores (and `_total` on counters):
 * `mcp_server_operation_duration_bucket`, `mcp_server_session_duration_bucket`,
 * `mcp_harden_refusals_total`.
 *
 * @example
 * ```ts
 * import { METRIC_NAMES } from '@mcp-harden/telemetry';
 * METRIC_NAMES.operationDuration; // 'mcp.server.operation.duration'
 * ```
 */
export const METRIC_NAMES = {
  /** Histogram, seconds: one record per request that passed telemetry (MCP semantic conventions). */
  operationDuration: 'mcp.server.operation.duration',
  /** Histogram, seconds: one record per ended session (MCP semantic conventions). */
  sessionDuration: 'mcp.server.session.duration',
  /** Counter: requests refused with a `HardenError`, by `error.code` and `mcp_harden.refusal.source`. */
  refusals: 'mcp_harden.refusals',
} as const;

/**
 * Explicit bucket boundaries (seconds) of the duration histograms, as the MCP semantic
 * conventions advise.
 *
 * @example
 * ```ts
 * import { DURATION_BUCKETS } from '@mcp-harden/telemetry';
 * new View({ instrumentName: 'mcp.server.operation.duration', aggregation: { type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM, options: { boundaries: [...DURATION_BUCKETS] } } });
 * ```
 */
export const DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300,
]);

/** Attribute keys used on spans and metrics (OpenTelemetry MCP / GenAI semantic conventions). */
export const ATTR = {
  methodName: 'mcp.method.name',
  toolName: 'gen_ai.tool.name',
  promptName: 'gen_ai.prompt.name',
  operationName: 'gen_ai.operation.name',
  requestId: 'jsonrpc.request.id',
  resourceUri: 'mcp.resource.uri',
  statusCode: 'rpc.response.status_code',
  errorType: 'error.type',
  protocolVersion: 'mcp.protocol.version',
  sessionId: 'mcp.session.id',
  networkTransport: 'network.transport',
  networkProtocolName: 'network.protocol.name',
  clientAddress: 'client.address',
  toolArguments: 'gen_ai.tool.call.arguments',
  toolResult: 'gen_ai.tool.call.result',
  promptVariablePrefix: 'gen_ai.prompt.variable.',
  errorCode: 'error.code',
  refusalSource: 'mcp_harden.refusal.source',
  contentOmitted: 'mcp_harden.content.omitted',
} as const;
