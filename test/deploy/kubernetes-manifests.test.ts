/**
 * The Kubernetes manifests in docs/kubernetes/: in step with their typed source, valid against
 * the Kubernetes OpenAPI schema (kubernetes-models' validators, checked here on the committed
 * YAML), and saying what docs/operations.md ("Past one machine") promises — agents sharded by the same function the
 * agent uses, one drill CronJob per set on its owner's state, a deny-all drills namespace.
 */
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { CronJob } from 'kubernetes-models/batch/v1/CronJob';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { PersistentVolume } from 'kubernetes-models/v1/PersistentVolume';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { parsePolicy } from '../../agent/config/load-policy.js';
import { ownerOf, parseShard } from '../../agent/daemon/shard.js';
import { REPLICAS } from '../../scripts/kubernetes-manifests.js';
import { renderManifests } from '../../scripts/render-kubernetes.js';
import { strictManifestProblems } from '../../scripts/strict-manifest-check.js';

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'v1/PersistentVolume': PersistentVolume,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'apps/v1/StatefulSet': StatefulSet,
  'batch/v1/CronJob': CronJob,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
};

type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a manifest's spec is whatever Kubernetes nests; the checks walk it by name
  spec?: Record<string, any>;
  data?: Record<string, string>;
};

function committed(file: string): Manifest[] {
  const text = readFileSync(new URL(`../../docs/kubernetes/${file}`, import.meta.url), 'utf8');
  return parseAllDocuments(text)
    .map((document) => document.toJS() as Manifest)
    .filter(Boolean);
}

const all = () => [...committed('agents.yaml'), ...committed('drills.yaml')];

function validate(manifest: Manifest): void {
  const Model = MODELS[`${manifest.apiVersion}/${manifest.kind}`];
  if (!Model) throw new Error(`no schema for ${manifest.apiVersion} ${manifest.kind}`);
  new Model(manifest as never).validate();
}

describe('Kubernetes manifests', () => {
  it('are the ones their typed source renders (run `npm run k8s` after changing it)', () => {
    for (const [file, text] of Object.entries(renderManifests())) {
      expect(readFileSync(new URL(`../../docs/kubernetes/${file}`, import.meta.url), 'utf8'), file).toBe(
        text,
      );
    }
  });

  it('validate against the Kubernetes schema, and the check catches a broken one', () => {
    const manifests = all();
    expect(manifests.length).toBeGreaterThan(10);
    for (const manifest of manifests)
      expect(() => validate(manifest), `${manifest.kind} ${manifest.metadata.name}`).not.toThrow();
    const cron = structuredClone(manifests.find((m) => m.kind === 'CronJob')!);
    delete cron.spec!.schedule;
    expect(() => validate(cron)).toThrow(/schedule/);
    const statefulSet = structuredClone(manifests.find((m) => m.kind === 'StatefulSet')!);
    statefulSet.spec!.replicas = 'three';
    expect(() => validate(statefulSet)).toThrow();
  });

  it('carry no field the Kubernetes schema does not know: a readinessProbe typo is caught', () => {
    const manifests = all();
    expect(strictManifestProblems(manifests)).toEqual([]);
    const typo = structuredClone(manifests.find((m) => m.kind === 'StatefulSet')!);
    const container = typo.spec!.template.spec.containers[0];
    container.readinesProbe = container.readinessProbe;
    delete container.readinessProbe;
    const problems = strictManifestProblems([typo]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      /^StatefulSet vouch: .*'"?readinesProbe"?' does not exist in type 'IContainer'/,
    );
  });

  it('run scan-only agents under Pod Security restricted with RuntimeDefault seccomp and readiness on /readyz; drill Jobs alone in the namespace that allows bubblewrap', () => {
    const manifests = all();
    const namespaces = new Map(
      manifests
        .filter((m) => m.kind === 'Namespace')
        .map((m) => [m.metadata.name, (m.metadata as unknown as { labels: Record<string, string> }).labels]),
    );
    expect(namespaces.get('vouch')!['pod-security.kubernetes.io/enforce']).toBe('restricted');
    expect(namespaces.get('vouch-drills')!['pod-security.kubernetes.io/enforce']).toBe('privileged');
    const pods = (namespace: string) =>
      manifests
        .filter(
          (m) => m.metadata.namespace === namespace && (m.kind === 'StatefulSet' || m.kind === 'CronJob'),
        )
        .map((m) => ({
          kind: m.kind,
          spec: m.kind === 'CronJob' ? m.spec!.jobTemplate.spec.template.spec : m.spec!.template.spec,
        }));
    for (const { spec } of pods('vouch')) {
      expect(restrictedViolations(spec)).toEqual([]);
      expect(spec.containers[0].readinessProbe.httpGet.path).toBe('/readyz');
    }
    // Every workload of the privileged namespace is a drill Job on the drills image.
    const drills = pods('vouch-drills');
    expect(
      drills.every(
        (pod) =>
          pod.kind === 'CronJob' &&
          pod.spec.containers[0].args.includes('drill') &&
          /^vouch-drills:/.test(pod.spec.containers[0].image),
      ),
    ).toBe(true);
    expect(restrictedViolations(drills[0]!.spec)).toEqual(['seccompProfile Unconfined']);
  });

  it('run sharded agents, one drill CronJob per set on its owner’s state, in a deny-all drills namespace', () => {
    const manifests = all();
    const policy = parsePolicy(
      manifests.find((m) => m.kind === 'ConfigMap')!.data!['vouch.yaml']!,
      '/etc/vouch/vouch.yaml',
    );
    const agents = manifests.find((m) => m.kind === 'StatefulSet')!;
    expect(agents.spec!.replicas).toBe(REPLICAS);
    const args: string[] = agents.spec!.template.spec.containers[0].args;
    expect(args.slice(0, 1)).toEqual(['serve']);
    const shard = args[args.indexOf('--shard') + 1]!;
    expect(parseShard(shard, 'vouch-2')).toEqual({ index: 2, count: REPLICAS });
    expect(args[args.indexOf('--tasks') + 1]).toBe('scan');

    const crons = manifests.filter((m) => m.kind === 'CronJob');
    expect(crons.map((c) => c.metadata.namespace)).toEqual(crons.map(() => 'vouch-drills'));
    expect(crons.map((c) => c.spec!.jobTemplate.spec.template.spec.containers[0].args.at(-1)).sort()).toEqual(
      policy.sets.map((s) => s.name).sort(),
    );
    for (const cron of crons) {
      const set = cron.spec!.jobTemplate.spec.template.spec.containers[0].args.at(-1) as string;
      const mount = cron.spec!.jobTemplate.spec.template.spec.containers[0].volumeMounts.find(
        (m: { name: string }) => m.name === 'state',
      );
      expect(mount.subPath).toBe(`vouch-${ownerOf(policy, set, REPLICAS)}`);
      expect(cron.spec!.schedule).toBe(policy.sets.find((s) => s.name === set)!.schedule!.drill);
    }

    const denyAll = manifests.find(
      (m) =>
        m.kind === 'NetworkPolicy' &&
        m.metadata.namespace === 'vouch-drills' &&
        m.metadata.name === 'default-deny-all',
    )!;
    expect(denyAll.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    const exceptions = manifests.filter(
      (m) => m.kind === 'NetworkPolicy' && m.metadata.namespace === 'vouch-drills' && m !== denyAll,
    );
    // The only exception: egress to DNS and the object store; nothing may reach a drill.
    expect(
      exceptions.every((m) => m.spec!.policyTypes.join() === 'Egress' && m.spec!.ingress === undefined),
    ).toBe(true);
  });
});

/**
 * What the Pod Security `restricted` profile refuses in a pod spec (kubernetes.io/docs/concepts/
 * security/pod-security-standards): host namespaces, privileged or escalating containers, added
 * capabilities, root, host paths, and a seccomp profile other than RuntimeDefault or Localhost.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see Manifest
function restrictedViolations(spec: Record<string, any>): string[] {
  const out: string[] = [];
  if (spec.hostNetwork || spec.hostPID || spec.hostIPC) out.push('host namespaces');
  const pod = spec.securityContext ?? {};
  for (const volume of spec.volumes ?? []) if (volume.hostPath) out.push(`hostPath volume ${volume.name}`);
  for (const container of [...(spec.initContainers ?? []), ...spec.containers]) {
    const context = container.securityContext ?? {};
    if (context.privileged) out.push(`${container.name} privileged`);
    if (context.allowPrivilegeEscalation !== false) out.push(`${container.name} may escalate`);
    if (!(context.capabilities?.drop ?? []).includes('ALL')) out.push(`${container.name} keeps capabilities`);
    if ((context.capabilities?.add ?? []).some((cap: string) => cap !== 'NET_BIND_SERVICE'))
      out.push(`${container.name} adds capabilities`);
    if (!(context.runAsNonRoot ?? pod.runAsNonRoot)) out.push(`${container.name} may run as root`);
    if ((context.runAsUser ?? pod.runAsUser) === 0) out.push(`${container.name} runs as uid 0`);
    const seccomp = context.seccompProfile?.type ?? pod.seccompProfile?.type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost')
      out.push(`seccompProfile ${seccomp ?? 'unset'}`);
  }
  return out;
}
