import { chmod, readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { JsonObject } from '@mcp-harden/core';
import { exportJWK, generateKeyPair, importJWK, importPKCS8, type JWK, SignJWT } from 'jose';
import { formatIssue, PolicyError, type PolicyIssue } from './errors.js';
import { explain, principalFromClaimsFile } from './explain.js';
import { type LoadedPolicy, loadPolicy } from './load.js';

/**
 * Exit codes of the policy commands (the same as every `mcp-harden` command): 0 ok, 1 denied or
 * refused (`explain` says the call would be refused, `token` refused in production), 2 invalid
 * input (malformed policy, missing file, bad option).
 *
 * @example
 * ```ts
 * if ((await runValidate({ positionals: ['policy.yaml'], values: {}, json: false, io })) === POLICY_EXIT.invalid) process.exit(2);
 * ```
 */
export const POLICY_EXIT = { ok: 0, denied: 1, invalid: 2 } as const;

/** One of {@link POLICY_EXIT}. */
export type PolicyExitCode = (typeof POLICY_EXIT)[keyof typeof POLICY_EXIT];

/** Where a command writes; the `CliIo` of `@mcp-harden/cli`. */
export interface PolicyCommandIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
}

/** What a command receives: the `CommandInput` of `@mcp-harden/cli`. */
export interface PolicyCommandInput {
  positionals: string[];
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  json: boolean;
  io: PolicyCommandIo;
}

/**
 * A command in the shape of the `mcp-harden` command table (`CliCommand` of `@mcp-harden/cli`),
 * so the CLI registers it with `defineCommand(validateCommand)`.
 *
 * @example
 * ```ts
 * import { defineCommand } from '@mcp-harden/cli';
 * import { validateCommand } from '@mcp-harden/policy';
 * const command = defineCommand(validateCommand);
 * ```
 */
export interface PolicyCommand {
  name: string;
  summary: string;
  usage: string;
  description?: string;
  options?: Record<
    string,
    { type: 'string' | 'boolean'; short?: string; multiple?: boolean; value?: string; description: string }
  >;
  positionals?: { min: number; max: number; names?: string[] };
  run(input: PolicyCommandInput): Promise<PolicyExitCode>;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function fail(input: PolicyCommandInput, message: string, issues?: readonly PolicyIssue[]): PolicyExitCode {
  if (input.json) {
    input.io.stdout(
      `${JSON.stringify({ ok: false, error: { code: 'INVALID', message }, ...(issues ? { issues } : {}) })}\n`,
    );
  } else if (issues) {
    for (const issue of issues) input.io.stderr(`${formatIssue(issue)}\n`);
    input.io.stderr(`mcp-harden: ${message}\n`);
  } else input.io.stderr(`mcp-harden: ${message}\n`);
  return POLICY_EXIT.invalid;
}

async function load(input: PolicyCommandInput, file: string): Promise<LoadedPolicy | PolicyExitCode> {
  const environment = str(input.values.env);
  try {
    return await loadPolicy(resolve(input.io.cwd, file), {
      resolveReferences: false,
      ...(environment ? { environment } : {}),
    });
  } catch (err) {
    if (err instanceof PolicyError) {
      // Report the path as the user wrote it.
      const issues = err.issues.map((i) => ({ ...i, file }));
      return fail(
        input,
        `${file}: ${issues.length} problem${issues.length === 1 ? '' : 's'}; the policy was not accepted`,
        issues,
      );
    }
    throw err;
  }
}

/**
 * `mcp-harden validate <policy> [--env <name>]`: checks a policy file (schema, unknown keys,
 * inline secrets, undeclared roles, rules, every environment). Exit 0 valid, 2 invalid.
 *
 * @example
 * ```ts
 * const code = await runValidate({ positionals: ['policy.yaml'], values: {}, json: true, io });
 * ```
 */
export async function runValidate(input: PolicyCommandInput): Promise<PolicyExitCode> {
  const file = input.positionals[0];
  if (!file) return fail(input, 'missing <policy> (usage: mcp-harden validate <policy>)');
  const policy = await load(input, file);
  if (typeof policy === 'number') return policy;
  const p = policy.effective;
  const counts = {
    tools: Object.keys(p.tools ?? {}).length,
    resources: Object.keys(p.resources ?? {}).length,
    prompts: Object.keys(p.prompts ?? {}).length,
  };
  if (input.json) {
    input.io.stdout(
      `${JSON.stringify({ ok: true, file, server: p.server, environment: policy.environment ?? null, environments: policy.environments, ...counts })}\n`,
    );
  } else {
    const envs = policy.environments.length ? `; environments: ${policy.environments.join(', ')}` : '';
    input.io.stdout(
      `${file}: valid (${p.server.name} ${p.server.version}, owner ${p.server.owner}; ${counts.tools} tools, ${counts.resources} resources, ${counts.prompts} prompts${envs})\n`,
    );
  }
  return POLICY_EXIT.ok;
}

async function readJson(
  input: PolicyCommandInput,
  file: string,
  what: string,
): Promise<JsonObject | PolicyExitCode> {
  let text: string;
  try {
    text = await readFile(resolve(input.io.cwd, file), 'utf8');
  } catch (err) {
    return fail(input, `cannot read ${what} ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    return value as JsonObject;
  } catch {
    return fail(input, `${what} ${file} is not a JSON object`);
  }
}

/**
 * `mcp-harden explain <policy> --tool <name> --principal <claims.json>`: would this call be
 * allowed, by which rule, at what limit. Exit 0 allowed, 1 denied, 2 invalid input.
 *
 * @example
 * ```ts
 * await runExplain({ positionals: ['policy.yaml'], values: { tool: 'notes.write', principal: 'alice.json' }, json: false, io });
 * ```
 */
export async function runExplain(input: PolicyCommandInput): Promise<PolicyExitCode> {
  const file = input.positionals[0];
  if (!file)
    return fail(
      input,
      'missing <policy> (usage: mcp-harden explain <policy> --tool <name> --principal <claims.json>)',
    );
  const targets = (['tool', 'prompt', 'resource'] as const).filter((k) => str(input.values[k]) !== undefined);
  if (targets.length !== 1) return fail(input, 'give exactly one of --tool, --prompt or --resource');
  const principalFile = str(input.values.principal);
  const anonymous = input.values.anonymous === true;
  if (!principalFile && !anonymous) return fail(input, 'give --principal <claims.json> (or --anonymous)');
  if (principalFile && anonymous) return fail(input, '--principal and --anonymous exclude each other');
  const policy = await load(input, file);
  if (typeof policy === 'number') return policy;
  let principal = null;
  if (principalFile) {
    const claims = await readJson(input, principalFile, 'principal');
    if (typeof claims === 'number') return claims;
    try {
      principal = principalFromClaimsFile(policy, claims);
    } catch (err) {
      return fail(input, `principal ${principalFile}: ${(err as Error).message}`);
    }
  }
  let args: JsonObject = {};
  const argsFile = str(input.values.args);
  if (argsFile) {
    const parsed = await readJson(input, argsFile, 'arguments');
    if (typeof parsed === 'number') return parsed;
    args = parsed;
  }
  const kind = targets[0]!;
  const result = await explain(policy, { [kind]: str(input.values[kind]), principal, arguments: args });
  if (input.json) input.io.stdout(`${JSON.stringify({ ok: true, ...result })}\n`);
  else {
    const who = principal ? principal.subject : 'an unauthenticated caller';
    const lines = [
      `${result.allowed ? 'ALLOWED' : 'DENIED'}: ${who} -> ${kind} ${result.target}`,
      `  rule:    ${result.rule}${result.reason ? ` (${result.reason})` : ''}`,
    ];
    if (result.requiredScopes?.length) lines.push(`  needs:   ${result.requiredScopes.join(' ')}`);
    if (result.errorCode) lines.push(`  client sees: ${result.errorCode}`);
    if (result.limits) {
      const l = result.limits;
      const budgets = (['principalTool', 'principal', 'tenant', 'session', 'global'] as const)
        .filter((k) => l[k])
        .map((k) => `${k} ${l[k]!.points}/${l[k]!.duration}s`);
      lines.push(`  limits:  cost ${l.cost}${budgets.length ? `; ${budgets.join(', ')}` : ''}`);
      if (l.concurrency) {
        lines.push(
          `  concurrency: ${Object.entries(l.concurrency)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')}`,
        );
      }
    }
    if (result.timeoutMs !== undefined) lines.push(`  timeout: ${result.timeoutMs} ms`);
    if (result.deprecation) {
      lines.push(
        `  deprecated${result.deprecation.sunset ? `, sunset ${result.deprecation.sunset}` : ''}${result.deprecation.replacement ? `, use ${result.deprecation.replacement}` : ''}`,
      );
    }
    input.io.stdout(`${lines.join('\n')}\n`);
  }
  return result.allowed ? POLICY_EXIT.ok : POLICY_EXIT.denied;
}

const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

/**
 * `mcp-harden token`: mints a short-lived development JWT from a local private key, or with
 * `--init-key` creates such a key and its public JWKS (for `authentication.bearer.keysFile`).
 * Refused (exit 1) when `NODE_ENV=production`: production tokens come from an identity provider.
 *
 * @example
 * ```ts
 * await runToken({ positionals: [], values: { key: 'dev.key.json', sub: 'alice', scope: 'notes:read', issuer: 'https://dev.local', audience: 'notes' }, json: false, io });
 * ```
 */
export async function runToken(input: PolicyCommandInput): Promise<PolicyExitCode> {
  if (input.io.env.NODE_ENV === 'production') {
    const message =
      'token refuses to run with NODE_ENV=production: development tokens must never reach production';
    if (input.json)
      input.io.stdout(`${JSON.stringify({ ok: false, error: { code: 'REFUSED', message } })}\n`);
    else input.io.stderr(`mcp-harden: ${message}\n`);
    return POLICY_EXIT.denied;
  }
  const keyFile = str(input.values.key);
  if (!keyFile)
    return fail(input, 'give --key <file> (a private JWK or PKCS#8 PEM; create one with --init-key)');
  const keyPath = resolve(input.io.cwd, keyFile);
  if (input.values['init-key'] === true) {
    const alg = str(input.values.alg) ?? 'ES256';
    if (!ALGORITHMS.includes(alg)) return fail(input, `--alg must be one of ${ALGORITHMS.join(', ')}`);
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    const kid = `dev-${Date.now().toString(36)}`;
    const priv = { ...(await exportJWK(privateKey)), alg, kid, use: 'sig' };
    const pub = { ...(await exportJWK(publicKey)), alg, kid, use: 'sig' };
    const jwksPath = keyPath.replace(/(\.json)?$/, '.jwks.json');
    try {
      await writeFile(keyPath, `${JSON.stringify(priv, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
      await chmod(keyPath, 0o600);
      await writeFile(jwksPath, `${JSON.stringify({ keys: [pub] }, null, 2)}\n`);
    } catch (err) {
      return fail(
        input,
        `cannot write ${keyFile} (${(err as NodeJS.ErrnoException).code ?? 'error'}; an existing key is never overwritten)`,
      );
    }
    if (input.json)
      input.io.stdout(`${JSON.stringify({ ok: true, key: keyPath, jwks: jwksPath, alg, kid })}\n`);
    else input.io.stdout(`wrote private key ${keyPath} (mode 600) and public JWKS ${jwksPath}\n`);
    return POLICY_EXIT.ok;
  }
  const sub = str(input.values.sub);
  const issuer = str(input.values.issuer);
  const audience = str(input.values.audience);
  if (!sub || !issuer || !audience) return fail(input, 'give --sub, --issuer and --audience');
  const ttlText = str(input.values.ttl) ?? '300';
  const ttl = Number(ttlText);
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 86_400)
    return fail(input, '--ttl must be whole seconds between 1 and 86400');
  let text: string;
  try {
    text = await readFile(keyPath, 'utf8');
  } catch (err) {
    return fail(input, `cannot read key ${keyFile} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let key: CryptoKey | Uint8Array;
  let alg = str(input.values.alg);
  let kid: string | undefined;
  try {
    if (text.trimStart().startsWith('-----BEGIN')) {
      if (!alg) return fail(input, 'a PEM key needs --alg');
      key = await importPKCS8(text, alg);
    } else {
      const jwk = JSON.parse(text) as JWK;
      if (!jwk.d) return fail(input, `${keyFile} is a public key; token needs the private key`);
      alg ??= jwk.alg;
      kid = jwk.kid;
      if (!alg) return fail(input, 'the key has no alg; give --alg');
      key = (await importJWK(jwk, alg)) as CryptoKey | Uint8Array;
    }
  } catch {
    return fail(
      input,
      `${keyFile} is not a private JWK or PKCS#8 PEM key for ${alg ?? 'the given algorithm'}`,
    );
  }
  if (!ALGORITHMS.includes(alg))
    return fail(input, `--alg must be one of ${ALGORITHMS.join(', ')} (asymmetric only)`);
  const list = (name: string): string[] => {
    const v = input.values[name];
    const items = Array.isArray(v) ? (v as unknown[]) : typeof v === 'string' ? [v] : [];
    return items.flatMap((s) => String(s).split(/[\s,]+/)).filter((s) => s.length > 0);
  };
  const claims: JsonObject = { sub };
  const scopes = list('scope');
  if (scopes.length) claims.scope = scopes.join(' ');
  const roles = list('role');
  if (roles.length) claims.roles = roles;
  const tenant = str(input.values.tenant);
  if (tenant) claims.tenant = tenant;
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT(claims)
    .setProtectedHeader({ alg, typ: 'JWT', ...(kid ? { kid } : {}) })
    .setIssuer(issuer)
    .setAudience(audience)
    .setIssuedAt(now)
    .setExpirationTime(now + ttl)
    .sign(key);
  if (input.json)
    input.io.stdout(
      `${JSON.stringify({ ok: true, token, expiresAt: now + ttl, claims: { ...claims, iss: issuer, aud: audience } })}\n`,
    );
  else input.io.stdout(`${token}\n`);
  return POLICY_EXIT.ok;
}

const EXIT_TEXT =
  'Exit codes: 0 ok, 1 denied or refused, 2 invalid input (malformed policy, missing file, bad option).';

/**
 * The `validate` command for the `mcp-harden` command table.
 *
 * @example
 * ```ts
 * COMMANDS.push(defineCommand(validateCommand));
 * ```
 */
export const validateCommand: PolicyCommand = {
  name: 'validate',
  summary: 'Check a policy file (schema, unknown keys, inline secrets, undeclared roles, every environment)',
  usage: 'validate <policy> [--env <name>]',
  description: `Reads a YAML or JSON policy file and reports every problem as file:line:column: field: message.\nSecret references (\${env:...}, \${file:...}) are checked for form, not resolved.\n${EXIT_TEXT}`,
  options: {
    env: {
      type: 'string',
      value: '<name>',
      description: 'Also report the effective policy of this environment',
    },
  },
  positionals: { min: 1, max: 1, names: ['policy'] },
  run: runValidate,
};

/**
 * The `explain` command for the `mcp-harden` command table.
 *
 * @example
 * ```ts
 * COMMANDS.push(defineCommand(explainCommand));
 * ```
 */
export const explainCommand: PolicyCommand = {
  name: 'explain',
  summary: 'Would this call be allowed, by which rule, at what limit',
  usage: 'explain <policy> (--tool <name> | --prompt <name> | --resource <uri>) --principal <claims.json>',
  description: `The principal file is a decoded token payload ({"sub","scope","roles","tenant"}, mapped with the policy's claim names) or a principal ({"subject","scopes","roles","tenant"}).\nThe decision is made by the rbac middleware the policy builds.\n${EXIT_TEXT}`,
  options: {
    tool: { type: 'string', value: '<name>', description: 'Tool to call' },
    prompt: { type: 'string', value: '<name>', description: 'Prompt to get' },
    resource: { type: 'string', value: '<uri>', description: 'Resource URI to read' },
    principal: { type: 'string', value: '<claims.json>', description: 'Who calls' },
    anonymous: { type: 'boolean', description: 'Explain a call without credentials' },
    args: { type: 'string', value: '<args.json>', description: 'Call arguments (rules on tenant read them)' },
    env: { type: 'string', value: '<name>', description: 'Environment whose overrides apply' },
  },
  positionals: { min: 1, max: 1, names: ['policy'] },
  run: runExplain,
};

/**
 * The `token` command for the `mcp-harden` command table.
 *
 * @example
 * ```ts
 * COMMANDS.push(defineCommand(tokenCommand));
 * ```
 */
export const tokenCommand: PolicyCommand = {
  name: 'token',
  summary: 'Mint a development JWT from a local key (refused when NODE_ENV=production)',
  usage:
    'token --key <file> --sub <subject> --issuer <url> --audience <aud> [--scope <s>]... [--role <r>]... [--tenant <t>] [--ttl <seconds>] | token --init-key --key <file>',
  description: `--init-key writes a new private JWK (mode 600) and <file>.jwks.json with the public key, for authentication.bearer.keysFile.\n${EXIT_TEXT}`,
  options: {
    key: { type: 'string', value: '<file>', description: 'Private key: JWK (JSON) or PKCS#8 PEM' },
    'init-key': {
      type: 'boolean',
      description: 'Create the key file (and its public JWKS) instead of a token',
    },
    alg: {
      type: 'string',
      value: '<alg>',
      description: "Signing algorithm (default: the key's alg; ES256 for --init-key)",
    },
    sub: { type: 'string', value: '<subject>', description: 'Subject (sub)' },
    issuer: { type: 'string', value: '<url>', description: 'Issuer (iss), as the policy expects' },
    audience: { type: 'string', value: '<aud>', description: 'Audience (aud), as the policy expects' },
    scope: {
      type: 'string',
      multiple: true,
      value: '<scope>',
      description: 'Scope (repeat, or space-separated)',
    },
    role: { type: 'string', multiple: true, value: '<role>', description: 'Role (repeat)' },
    tenant: { type: 'string', value: '<tenant>', description: 'Tenant claim' },
    ttl: { type: 'string', value: '<seconds>', description: 'Lifetime, default 300, at most 86400' },
  },
  positionals: { min: 0, max: 0 },
  run: runToken,
};
