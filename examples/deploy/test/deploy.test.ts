import { readdirSync, readFileSync } from 'node:fs';
import { DockerfileParser } from 'dockerfile-ast';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { Secret, Service } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

const here = (path: string) => new URL(`../${path}`, import.meta.url);

type Manifest = { apiVersion: string; kind: string; metadata: { name: string }; [k: string]: unknown };

const models: Record<string, new (data: never) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
};

function validate(manifest: Manifest): void {
  const Model = models[`${manifest.apiVersion}/${manifest.kind}`];
  if (!Model) throw new Error(`no schema for ${manifest.apiVersion} ${manifest.kind}`);
  new Model(manifest as never).validate();
}

function manifests(): Manifest[] {
  return readdirSync(here('k8s'))
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((file) =>
      parseAllDocuments(readFileSync(here(`k8s/${file}`), 'utf8')).map((doc) => {
        if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
        return doc.toJS() as Manifest;
      }),
    );
}

describe('Kubernetes manifests', () => {
  const all = manifests();
  const byKind = (kind: string) => all.filter((m) => m.kind === kind);

  it('each validates against its Kubernetes schema', () => {
    expect(all.map((m) => m.kind).sort()).toEqual([
      'Deployment',
      'HorizontalPodAutoscaler',
      'NetworkPolicy',
      'Secret',
      'Service',
    ]);
    for (const manifest of all) validate(manifest);
  });

  it('the schema check rejects a malformed manifest', () => {
    const broken = structuredClone(byKind('Deployment')[0]!) as Manifest & { spec: { replicas: unknown } };
    broken.spec.replicas = 'two';
    expect(() => validate(broken)).toThrow();
  });

  it('the Deployment runs as non-root with limits and liveness, readiness and startup probes', () => {
    const deployment = new Deployment(byKind('Deployment')[0] as never);
    const pod = deployment.spec!.template.spec!;
    expect(pod.securityContext?.runAsNonRoot).toBe(true);
    for (const container of pod.containers) {
      expect(container.resources?.limits).toMatchObject({
        cpu: expect.anything(),
        memory: expect.anything(),
      });
      expect(container.livenessProbe?.httpGet?.path).toBe('/health');
      expect(container.readinessProbe?.httpGet?.path).toBe('/ready');
      expect(container.startupProbe?.httpGet?.path).toBe('/health');
      expect(container.securityContext?.allowPrivilegeEscalation).toBe(false);
      // Secrets only by reference, never inline values in the Deployment.
      for (const env of container.env ?? []) {
        if (/ISSUER|AUDIENCE|JWKS|REDIS|KEY|SECRET|TOKEN/.test(env.name))
          expect(env.valueFrom?.secretKeyRef).toBeDefined();
      }
    }
  });

  it('the HPA targets the Deployment and the NetworkPolicy restricts ingress', () => {
    const hpa = new HorizontalPodAutoscaler(byKind('HorizontalPodAutoscaler')[0] as never);
    expect(hpa.spec!.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: 'mcp-harden-quickstart' });
    const policy = new NetworkPolicy(byKind('NetworkPolicy')[0] as never);
    expect(policy.spec!.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(policy.spec!.ingress).toHaveLength(1);
  });
});

describe('Dockerfile', () => {
  const dockerfile = DockerfileParser.parse(readFileSync(here('Dockerfile'), 'utf8'));
  const instructions = dockerfile.getInstructions();
  const last = (keyword: string) => instructions.filter((i) => i.getKeyword() === keyword).at(-1);

  it('parses with no unknown instructions', () => {
    const known = new Set(['FROM', 'WORKDIR', 'RUN', 'COPY', 'ENV', 'USER', 'EXPOSE', 'HEALTHCHECK', 'CMD']);
    for (const instruction of instructions) expect(known.has(instruction.getKeyword())).toBe(true);
  });

  it('is multi-stage and the runtime stage runs as a non-root user with a health check', () => {
    expect(dockerfile.getFROMs().length).toBeGreaterThanOrEqual(2);
    const runtimeFrom = dockerfile.getFROMs().at(-1)!;
    const user = last('USER')!;
    expect(user.getRange().start.line).toBeGreaterThan(runtimeFrom.getRange().start.line);
    expect(user.getArgumentsContent()).not.toMatch(/^(root|0)(:|$)/);
    expect(last('HEALTHCHECK')!.getArgumentsContent()).toContain('/health');
    expect(
      instructions
        .filter((i) => i.getKeyword() === 'ENV')
        .map((i) => i.getArgumentsContent())
        .join(' '),
    ).not.toMatch(/SECRET|PASSWORD|TOKEN|KEY=/);
  });
});
