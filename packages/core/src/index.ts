export type {
  ContextInit,
  HardenContext,
  HardenedMethod,
  HardenState,
  ListMethod,
  PolicyLookup,
  Principal,
  RequestInfo,
  TargetKind,
  TargetPolicy,
} from './context.js';
export { createContext, HARDENED_METHODS, isHardenedMethod } from './context.js';
export type { HardenErrorCode, HardenErrorOptions, JsonRpcErrorObject } from './errors.js';
export {
  ERROR_CODES,
  errorCodeOf,
  HardenError,
  httpStatusOf,
  isHardenError,
  JsonRpcError,
  toJsonRpcError,
} from './errors.js';
export type {
  ComposedMiddleware,
  EarlyRefusal,
  HealthCheck,
  Middleware,
  MiddlewareHooks,
  Next,
} from './middleware.js';
export { closeAll, compose, defineMiddleware, reportEarlyRefusal } from './middleware.js';
export type {
  CallToolResult,
  ContentBlock,
  GetPromptResult,
  JsonObject,
  ListPromptsResult,
  ListResourcesResult,
  ListResourceTemplatesResult,
  ListToolsResult,
  McpResult,
  PromptDefinition,
  ReadResourceResult,
  ResourceContents,
  ResourceDefinition,
  ResourceTemplateDefinition,
  ToolDefinition,
} from './protocol.js';
