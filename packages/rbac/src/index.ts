export type { RuleData, RuleLike } from './data.js';
export { ruleFromData } from './data.js';
export type { AuthorizationDecision, RbacOptions, RuleErrorInfo } from './rbac.js';
export { rbac } from './rbac.js';
export type { AllowIfOptions, RequireTenantOptions, Rule, RuleInput, RuleOutcome } from './rules.js';
export {
  all,
  allowAll,
  allowIf,
  any,
  denyAll,
  isRule,
  RuleEvaluationError,
  requireRoles,
  requireScopes,
  requireTenant,
} from './rules.js';
export type { ScopeHierarchy } from './scopes.js';
