export { DURATION_BUCKETS, METRIC_NAMES } from './names.js';
export type {
  ContentCaptureOptions,
  SessionAttributes,
  SessionTimer,
  TelemetryMiddleware,
  TelemetryOptions,
  TraceContextExtractor,
} from './telemetry.js';
export { telemetry } from './telemetry.js';
