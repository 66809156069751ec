/**
 * The Kubernetes manifests of docs/kubernetes/, built from typed objects (kubernetes-models: a
 * misspelt or misplaced field fails the typecheck, and every object is validated against the
 * Kubernetes OpenAPI schema when written and in the test). `npm run k8s` writes the YAML files.
 *
 * The layout (docs/operations.md, "Past one machine", explains it):
 * - namespace `vouch`: a StatefulSet of agent replicas, each `vouch serve --shard ordinal/N
 *   --tasks scan` with its own state folder on one shared (ReadWriteMany) volume. They only scan,
 *   so the namespace enforces Pod Security `restricted` and the pods run under the runtime's
 *   default seccomp profile;
 * - namespace `vouch-drills`: one CronJob per set running `vouch drill SET` (the `vouch-drills`
 *   image: PostgreSQL, SQLite, bubblewrap) against the state folder of the replica that owns the
 *   set, under a default deny-all NetworkPolicy with one narrow exception (egress to the object
 *   store, to fetch the archive). bubblewrap needs user namespaces, which the default seccomp
 *   profile refuses, so this namespace — holding nothing but drill Jobs — allows `privileged`.
 */
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { PersistentVolume } from 'kubernetes-models/v1/PersistentVolume';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSecurityContext } from 'kubernetes-models/v1/PodSecurityContext';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { CronJob } from 'kubernetes-models/batch/v1/CronJob';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { INetworkPolicyEgressRule } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyEgressRule';
import { parsePolicy } from '../agent/config/load-policy.js';
import { ownerOf } from '../agent/daemon/shard.js';

/** Agent replicas; each owns the sets `ownerOf(…, REPLICAS)` gives it. */
export const REPLICAS = 3;
const IMAGE = 'vouch:0.1.0';
/** The image built with `docker build --target drills` (PostgreSQL, SQLite and bubblewrap for application checks). */
const DRILL_IMAGE = 'vouch-drills:0.1.0';
const STATE = '/var/lib/vouch';
const STORE_CIDR = '10.20.0.0/16'; // the object store's addresses: edit for your cluster
const STORE_PORTS = [443, 9000];

/** The policy the manifests ship (a ConfigMap): four sets in one bucket, drills on a schedule. */
export const POLICY_YAML = `# Mounted at /etc/vouch/vouch.yaml in every agent replica and drill Job.
state: ${STATE}
sets:
${['orders', 'invoices', 'hr', 'crm']
  .map(
    (name, i) => `  ${name}:
    source: { s3: { bucket: backups, prefix: ${name}/, region: eu-central-1, concurrency: 8 } }
    snapshots: { layout: archive, match: '^${name}-(?<time>\\d{8}T\\d{6}Z)\\.tar\\.gz$' }
    integrity: { sample: { window: 30d, dailyBytes: 2TiB } }
    targets: { rpo: 24h, rto: 4h }
    schedule: { scan: '${i * 7} * * * *', drill: '${10 + i * 10} 3 * * 0', timezone: UTC }
    drill: { pick: last-clean, sample: 10% }`,
  )
  .join('\n')}
`;

const policy = parsePolicy(POLICY_YAML, '/etc/vouch/vouch.yaml');
const labels = (component: string) => ({
  'app.kubernetes.io/name': 'vouch',
  'app.kubernetes.io/component': component,
});

/** Scan-only agents: Pod Security `restricted` (non-root, no privilege escalation, no capabilities, RuntimeDefault seccomp). */
const agentPodSecurity: IPodSecurityContext = {
  runAsUser: 1000,
  runAsGroup: 1000,
  runAsNonRoot: true,
  fsGroup: 1000,
  seccompProfile: { type: 'RuntimeDefault' },
};
/** Drill Jobs: bwrap needs user namespaces, which the runtime's default seccomp profile forbids without CAP_SYS_ADMIN. */
const drillPodSecurity: IPodSecurityContext = {
  runAsUser: 1000,
  runAsGroup: 1000,
  runAsNonRoot: true,
  fsGroup: 1000,
  seccompProfile: { type: 'Unconfined' },
};

function vouchContainer(name: string, args: string[], extra: Partial<IContainer> = {}): IContainer {
  return {
    name,
    image: IMAGE,
    args,
    env: [
      { name: 'VOUCH_CONFIG', value: '/etc/vouch/vouch.yaml' },
      { name: 'AWS_REGION', value: 'eu-central-1' },
    ],
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    },
    ...extra,
    volumeMounts: [
      { name: 'policy', mountPath: '/etc/vouch', readOnly: true },
      { name: 'tmp', mountPath: '/tmp' },
      ...(extra.volumeMounts ?? []),
    ],
  };
}

const sharedVolume = (namespace: string, pv: string) => [
  new PersistentVolume({
    metadata: { name: pv, labels: labels('state') },
    spec: {
      capacity: { storage: '500Gi' },
      accessModes: ['ReadWriteMany'],
      persistentVolumeReclaimPolicy: 'Retain',
      // The same export backs both namespaces' claims: agents and drill Jobs share the state.
      nfs: { server: 'nfs.example.internal', path: '/exports/vouch' },
      claimRef: { namespace, name: 'vouch-state' },
    },
  }),
  new PersistentVolumeClaim({
    metadata: { name: 'vouch-state', namespace, labels: labels('state') },
    spec: {
      accessModes: ['ReadWriteMany'],
      resources: { requests: { storage: '500Gi' } },
      volumeName: pv,
      storageClassName: '',
    },
  }),
];

const policyConfigMap = (namespace: string) =>
  new ConfigMap({
    metadata: { name: 'vouch-policy', namespace, labels: labels('policy') },
    data: { 'vouch.yaml': POLICY_YAML },
  });

const dnsEgress: INetworkPolicyEgressRule = {
  to: [{ namespaceSelector: {}, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
  ports: [
    { protocol: 'UDP', port: 53 },
    { protocol: 'TCP', port: 53 },
  ],
};
const storeEgress: INetworkPolicyEgressRule = {
  to: [{ ipBlock: { cidr: STORE_CIDR } }],
  ports: STORE_PORTS.map((port) => ({ protocol: 'TCP' as const, port })),
};

/** Namespace `vouch`: the sharded agents. */
export function agentManifests() {
  return [
    new Namespace({
      metadata: {
        name: 'vouch',
        labels: {
          'pod-security.kubernetes.io/enforce': 'restricted',
          'pod-security.kubernetes.io/warn': 'restricted',
          'pod-security.kubernetes.io/audit': 'restricted',
        },
      },
    }),
    new ServiceAccount({
      metadata: { name: 'vouch', namespace: 'vouch', labels: labels('agent') },
      automountServiceAccountToken: false,
    }),
    policyConfigMap('vouch'),
    ...sharedVolume('vouch', 'vouch-state-agents'),
    new Service({
      metadata: { name: 'vouch', namespace: 'vouch', labels: labels('agent') },
      spec: {
        clusterIP: 'None',
        selector: labels('agent'),
        ports: [{ name: 'http', port: 9740, targetPort: 'http' }],
      },
    }),
    new StatefulSet({
      metadata: { name: 'vouch', namespace: 'vouch', labels: labels('agent') },
      spec: {
        serviceName: 'vouch',
        replicas: REPLICAS,
        podManagementPolicy: 'Parallel',
        selector: { matchLabels: labels('agent') },
        template: {
          metadata: {
            labels: labels('agent'),
            annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9740' },
          },
          spec: {
            serviceAccountName: 'vouch',
            securityContext: agentPodSecurity,
            terminationGracePeriodSeconds: 60,
            containers: [
              vouchContainer(
                'vouch',
                [
                  'serve',
                  '--listen',
                  '0.0.0.0:9740',
                  '--shard',
                  `ordinal/${REPLICAS}`,
                  '--tasks',
                  'scan',
                  '--shutdown-timeout',
                  '45s',
                ],
                {
                  ports: [{ name: 'http', containerPort: 9740 }],
                  env: [
                    { name: 'VOUCH_CONFIG', value: '/etc/vouch/vouch.yaml' },
                    { name: 'AWS_REGION', value: 'eu-central-1' },
                    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                    {
                      name: 'VOUCH_API_TOKEN',
                      valueFrom: { secretKeyRef: { name: 'vouch-api-token', key: 'token' } },
                    },
                  ],
                  // Each replica's state is its own folder of the shared volume: vouch-0, vouch-1, …
                  volumeMounts: [{ name: 'state', mountPath: STATE, subPathExpr: '$(POD_NAME)' }],
                  // Ready when the policy is loaded, the state readable and the evidence chain intact.
                  readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 10 },
                  livenessProbe: {
                    httpGet: { path: '/healthz', port: 'http' },
                    periodSeconds: 30,
                    failureThreshold: 5,
                  },
                  resources: { requests: { cpu: '2', memory: '512Mi' }, limits: { memory: '1Gi' } },
                },
              ),
            ],
            volumes: [
              { name: 'policy', configMap: { name: 'vouch-policy' } },
              { name: 'tmp', emptyDir: { sizeLimit: '1Gi' } },
              { name: 'state', persistentVolumeClaim: { claimName: 'vouch-state' } },
            ],
          },
        },
      },
    }),
    new NetworkPolicy({
      metadata: { name: 'default-deny-all', namespace: 'vouch' },
      spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
    }),
    new NetworkPolicy({
      metadata: { name: 'agents', namespace: 'vouch' },
      spec: {
        podSelector: { matchLabels: labels('agent') },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [
          {
            from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }],
            ports: [{ protocol: 'TCP', port: 9740 }],
          },
        ],
        egress: [dnsEgress, storeEgress],
      },
    }),
  ];
}

/** Namespace `vouch-drills`: one CronJob per set, deny-all network but for the object store. */
export function drillManifests() {
  const cronJobs = policy.sets.map((set) => {
    const owner = ownerOf(policy, set.name, REPLICAS);
    return new CronJob({
      metadata: {
        name: `drill-${set.name}`,
        namespace: 'vouch-drills',
        labels: { ...labels('drill'), 'vouch.dev/set': set.name, 'vouch.dev/shard': String(owner) },
      },
      spec: {
        schedule: set.schedule!.drill!,
        timeZone: set.schedule!.timezone,
        concurrencyPolicy: 'Forbid',
        startingDeadlineSeconds: 3600,
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 5,
        jobTemplate: {
          spec: {
            backoffLimit: 0,
            // The drill's own RTO check times it; this only stops a Job that hangs.
            activeDeadlineSeconds: 6 * 3600,
            template: {
              metadata: { labels: { ...labels('drill'), 'vouch.dev/set': set.name } },
              spec: {
                restartPolicy: 'Never',
                automountServiceAccountToken: false,
                securityContext: drillPodSecurity,
                containers: [
                  vouchContainer('drill', ['--json', 'drill', set.name], {
                    image: DRILL_IMAGE,
                    // The state folder of the replica that owns the set (see ownerOf in agent/daemon/shard.ts).
                    volumeMounts: [{ name: 'state', mountPath: STATE, subPath: `vouch-${owner}` }],
                    resources: {
                      requests: { cpu: '2', memory: '1Gi' },
                      limits: { memory: '6Gi', 'ephemeral-storage': '20Gi' },
                    },
                  }),
                ],
                volumes: [
                  { name: 'policy', configMap: { name: 'vouch-policy' } },
                  { name: 'tmp', emptyDir: { sizeLimit: '1Gi' } },
                  { name: 'state', persistentVolumeClaim: { claimName: 'vouch-state' } },
                ],
              },
            },
          },
        },
      },
    });
  });
  return [
    // Only drill Jobs live here: bubblewrap's user namespaces need an Unconfined seccomp profile.
    new Namespace({
      metadata: {
        name: 'vouch-drills',
        labels: {
          'pod-security.kubernetes.io/enforce': 'privileged',
          'pod-security.kubernetes.io/warn': 'baseline',
        },
      },
    }),
    // Nothing in or out unless a policy below allows it.
    new NetworkPolicy({
      metadata: { name: 'default-deny-all', namespace: 'vouch-drills' },
      spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
    }),
    // The one exception: drills of S3 sets fetch the archive. Delete it if every set is an offline volume.
    new NetworkPolicy({
      metadata: { name: 'allow-object-store-egress', namespace: 'vouch-drills' },
      spec: {
        podSelector: { matchLabels: labels('drill') },
        policyTypes: ['Egress'],
        egress: [dnsEgress, storeEgress],
      },
    }),
    policyConfigMap('vouch-drills'),
    ...sharedVolume('vouch-drills', 'vouch-state-drills'),
    ...cronJobs,
  ];
}

/** Every manifest file: name → objects. */
export function manifestFiles(): Record<string, { toJSON(): unknown; validate(): void }[]> {
  return { 'agents.yaml': agentManifests(), 'drills.yaml': drillManifests() };
}
