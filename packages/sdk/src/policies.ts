import type { PolicyLookup, TargetKind, TargetPolicy } from '@mcp-harden/core';
import { UriTemplate } from '@modelcontextprotocol/sdk/shared/uriTemplate.js';

/** Declared policies by target: tools and prompts by name, resources by URI or URI template. */
export interface PolicyMap {
  tools?: Record<string, TargetPolicy>;
  prompts?: Record<string, TargetPolicy>;
  /** Keys are exact URIs (`config://app`) or RFC 6570 templates (`notes://{tenant}/{id}`). */
  resources?: Record<string, TargetPolicy>;
}

/** Holds declared policies and answers lookups; resource templates are matched against URIs. */
export class PolicyRegistry {
  readonly #tools = new Map<string, TargetPolicy>();
  readonly #prompts = new Map<string, TargetPolicy>();
  readonly #resources = new Map<string, TargetPolicy>();
  readonly #templates: Array<{ template: UriTemplate; policy: TargetPolicy }> = [];

  constructor(initial: PolicyMap = {}) {
    for (const [name, policy] of Object.entries(initial.tools ?? {})) this.set('tool', name, policy);
    for (const [name, policy] of Object.entries(initial.prompts ?? {})) this.set('prompt', name, policy);
    for (const [uri, policy] of Object.entries(initial.resources ?? {})) this.set('resource', uri, policy);
  }

  /** Declares the policy of a tool or prompt (by name) or a resource (by URI or URI template). */
  set(kind: TargetKind, target: string, policy: TargetPolicy): void {
    if (kind === 'tool') this.#tools.set(target, policy);
    else if (kind === 'prompt') this.#prompts.set(target, policy);
    else if (UriTemplate.isTemplate(target)) {
      const existing = this.#templates.findIndex((t) => t.template.toString() === target);
      if (existing >= 0) this.#templates.splice(existing, 1);
      this.#templates.push({ template: new UriTemplate(target), policy });
      this.#resources.set(target, policy);
    } else this.#resources.set(target, policy);
  }

  readonly lookup: PolicyLookup = (kind, target) => {
    if (kind === 'tool') return this.#tools.get(target);
    if (kind === 'prompt') return this.#prompts.get(target);
    const exact = this.#resources.get(target);
    if (exact) return exact;
    return this.#templates.find((t) => t.template.match(target) !== null)?.policy;
  };
}
