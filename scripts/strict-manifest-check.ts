/**
 * A strict check of Kubernetes manifests: every field must exist in the Kubernetes API schema, as
 * `kubectl apply --validate=strict` and kubeconform -strict demand. kubernetes-models' validators
 * check types and required fields but let unknown fields through (a `readinesProbe` typo would
 * pass, and the cluster would silently drop it), so each manifest is also type-checked as an
 * object literal against its kubernetes-models interface — generated from the same OpenAPI schema
 * — where TypeScript refuses any property the type does not declare.
 */
import path from 'node:path';
import ts from 'typescript';

/** The interface for each apiVersion/kind, and the module that exports it. */
const TYPES: Record<string, [module: string, name: string]> = {
  'v1/Namespace': ['kubernetes-models/v1/Namespace', 'INamespace'],
  'v1/ConfigMap': ['kubernetes-models/v1/ConfigMap', 'IConfigMap'],
  'v1/Service': ['kubernetes-models/v1/Service', 'IService'],
  'v1/ServiceAccount': ['kubernetes-models/v1/ServiceAccount', 'IServiceAccount'],
  'v1/PersistentVolume': ['kubernetes-models/v1/PersistentVolume', 'IPersistentVolume'],
  'v1/PersistentVolumeClaim': ['kubernetes-models/v1/PersistentVolumeClaim', 'IPersistentVolumeClaim'],
  'apps/v1/StatefulSet': ['kubernetes-models/apps/v1/StatefulSet', 'IStatefulSet'],
  'batch/v1/CronJob': ['kubernetes-models/batch/v1/CronJob', 'ICronJob'],
  'networking.k8s.io/v1/NetworkPolicy': [
    'kubernetes-models/networking.k8s.io/v1/NetworkPolicy',
    'INetworkPolicy',
  ],
};

/** One manifest as parsed from YAML. */
export interface ManifestDocument {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
}

/**
 * Every field of `manifests` the Kubernetes schema does not know (or whose type is wrong), one
 * line each: `StatefulSet vouch: … 'readinesProbe' does not exist in type 'IContainer'`.
 */
export function strictManifestProblems(
  manifests: readonly ManifestDocument[],
  root = process.cwd(),
): string[] {
  const problems: string[] = [];
  const imports: string[] = [];
  const bodies: string[] = [];
  manifests.forEach((manifest, index) => {
    const type = TYPES[`${manifest.apiVersion}/${manifest.kind}`];
    if (!type) {
      problems.push(
        `${manifest.kind} ${manifest.metadata?.name}: no schema for ${manifest.apiVersion} ${manifest.kind}`,
      );
      return;
    }
    imports.push(`import type { ${type[1]} as T${index} } from '${type[0]}';`);
    bodies.push(`export const m${index}: T${index} = ${JSON.stringify(manifest)};`);
  });
  const file = path.join(root, '__manifests_strict_check__.ts');
  const text = `${imports.join('\n')}\n${bodies.join('\n')}\n`;
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, language, ...rest) =>
    path.resolve(name) === file
      ? ts.createSourceFile(name, text, language)
      : getSourceFile(name, language, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => path.resolve(name) === file || fileExists(name);
  const program = ts.createProgram([file], options, host);
  const source = program.getSourceFile(file)!;
  for (const diagnostic of ts.getPreEmitDiagnostics(program, source)) {
    const line =
      diagnostic.start === undefined ? -1 : source.getLineAndCharacterOfPosition(diagnostic.start).line;
    const index = line - imports.length;
    const manifest =
      manifests[Number(/^export const m(\d+)/.exec(text.split('\n')[line] ?? '')?.[1] ?? index)];
    const where = manifest ? `${manifest.kind} ${manifest.metadata.name}` : 'manifests';
    problems.push(`${where}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ')}`);
  }
  return problems;
}
