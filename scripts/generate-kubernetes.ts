/** `npm run k8s`: writes docs/kubernetes/*.yaml from scripts/kubernetes-manifests.ts (validated first). */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderManifests } from './render-kubernetes.js';

for (const [name, text] of Object.entries(renderManifests())) {
  const target = fileURLToPath(new URL(`../docs/kubernetes/${name}`, import.meta.url));
  writeFileSync(target, text);
  console.log(`wrote ${target}`);
}
