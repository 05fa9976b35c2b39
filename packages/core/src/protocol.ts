/**
 * SDK-neutral shapes of the MCP results the pipeline reads and rewrites. They follow the
 * protocol's JSON and stay open (`[key: string]: unknown`) so newer protocol fields pass
 * through untouched.
 */

/** Any JSON object. */
export type JsonObject = { [key: string]: unknown };

/** The result of any request that passes through the pipeline. */
export interface McpResult {
  [key: string]: unknown;
  _meta?: JsonObject;
}

/** One item of tool output or prompt message content (`text`, `image`, `audio`, `resource`, `resource_link`). */
export interface ContentBlock {
  [key: string]: unknown;
  type: string;
}

/** Result of `tools/call`. */
export interface CallToolResult extends McpResult {
  content: ContentBlock[];
  structuredContent?: JsonObject;
  isError?: boolean;
}

/** A tool as listed by `tools/list`. */
export interface ToolDefinition {
  [key: string]: unknown;
  name: string;
  title?: string;
  description?: string;
  inputSchema: JsonObject;
  outputSchema?: JsonObject;
  annotations?: JsonObject;
  _meta?: JsonObject;
}

/** A resource as listed by `resources/list`. */
export interface ResourceDefinition {
  [key: string]: unknown;
  uri: string;
  name: string;
  description?: string;
  mimeType?: string;
  _meta?: JsonObject;
}

/** A resource template as listed by `resources/templates/list`. */
export interface ResourceTemplateDefinition {
  [key: string]: unknown;
  uriTemplate: string;
  name: string;
  description?: string;
  _meta?: JsonObject;
}

/** A prompt as listed by `prompts/list`. */
export interface PromptDefinition {
  [key: string]: unknown;
  name: string;
  description?: string;
  arguments?: Array<{ name: string; description?: string; required?: boolean }>;
  _meta?: JsonObject;
}

/** Result of `tools/list`. */
export interface ListToolsResult extends McpResult {
  tools: ToolDefinition[];
  nextCursor?: string;
}

/** Result of `resources/list`. */
export interface ListResourcesResult extends McpResult {
  resources: ResourceDefinition[];
  nextCursor?: string;
}

/** Result of `resources/templates/list`. */
export interface ListResourceTemplatesResult extends McpResult {
  resourceTemplates: ResourceTemplateDefinition[];
  nextCursor?: string;
}

/** Result of `prompts/list`. */
export interface ListPromptsResult extends McpResult {
  prompts: PromptDefinition[];
  nextCursor?: string;
}

/** One item of `resources/read` contents: `text` or base64 `blob`. */
export interface ResourceContents {
  [key: string]: unknown;
  uri: string;
  mimeType?: string;
  text?: string;
  blob?: string;
}

/** Result of `resources/read`. */
export interface ReadResourceResult extends McpResult {
  contents: ResourceContents[];
}

/** Result of `prompts/get`. */
export interface GetPromptResult extends McpResult {
  description?: string;
  messages: Array<{ role: string; content: ContentBlock }>;
}
