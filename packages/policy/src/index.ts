export type { PolicyCommand, PolicyCommandInput, PolicyCommandIo, PolicyExitCode } from './commands.js';
export {
  explainCommand,
  POLICY_EXIT,
  runExplain,
  runToken,
  runValidate,
  tokenCommand,
  validateCommand,
} from './commands.js';
export type { PolicyIssue } from './errors.js';
export { formatIssue, PolicyError } from './errors.js';
export type { ExplainLimits, ExplainRequest, Explanation } from './explain.js';
export { explain, principalFromClaimsFile } from './explain.js';
export type { FromPolicyOptions, PolicyChallenge, PolicyMap, PolicyPipeline } from './from-policy.js';
export { fromPolicy, rbacOptionsOf, rulesAsPolicies, versioningToolsOf } from './from-policy.js';
export type { EffectivePolicy, LoadedPolicy, ParsePolicyOptions } from './load.js';
export { loadPolicy, parsePolicy } from './load.js';
export type { PolicyDocument, PolicyTarget, RuleDataInput } from './schema.js';
export { policyJsonSchema, policySchema, SECRET_REFERENCE } from './schema.js';
