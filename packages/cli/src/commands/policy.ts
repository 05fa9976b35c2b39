import {
  explainCommand as explain,
  tokenCommand as token,
  validateCommand as validate,
} from '@mcp-harden/policy';
import { defineCommand } from '../command.js';

/** `mcp-harden validate <policy>`: see `runValidate` in `@mcp-harden/policy`. */
export const validateCommand = defineCommand(validate);

/** `mcp-harden explain <policy> --tool X --principal claims.json`: see `runExplain` in `@mcp-harden/policy`. */
export const explainCommand = defineCommand(explain);

/** `mcp-harden token`: see `runToken` in `@mcp-harden/policy`. */
export const tokenCommand = defineCommand(token);
