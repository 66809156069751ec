/**
 * Everything vouch computes from one entry's bytes in its single streaming pass: the digest in
 * the set's algorithm, any extra digests a checksum list needs, and detection's content
 * measurements (content-probe.ts). Pure and synchronous once
 * created, so the same code runs on the main thread (small entries) and in the analysis workers
 * (large ones); the result is plain data that crosses a thread boundary unchanged.
 */
import type { DigestAlgorithm } from '../config/resolve-policy.js';
import { ContentProbe, type ContentFeatures } from '../detection/content-probe.js';
import { prepareValidators, VALIDATORS } from '../detection/registry.js';
import { createDigester, type Digester } from '../integrity/digest.js';

/** What to compute for one entry. Plain data: it is posted to workers. */
export interface AnalysisRequest {
  /** The digest the manifest records. */
  algorithm: DigestAlgorithm;
  /** More digests of the same bytes (a `B3SUMS` beside a SHA-256 set, say). */
  extraAlgorithms: DigestAlgorithm[];
  /** Measure the content for detection; `size` is the declared size (plans the sampling). */
  detect?: { size: number };
}

/** What one entry's bytes gave. Plain data. */
export interface AnalysisResult {
  /** Lower-case hex digest in the request's algorithm. */
  digest: string;
  /** Extra digests by algorithm. */
  extra: Partial<Record<DigestAlgorithm, string>>;
  /** Bytes seen. */
  bytes: number;
  /** Detection's measurements, when requested. */
  content?: ContentFeatures;
}

/** One entry's analysis in progress. */
export class EntryAnalysis {
  private bytes = 0;

  private constructor(
    private readonly main: Digester,
    private readonly extras: [DigestAlgorithm, Digester][],
    private readonly probe: ContentProbe | null,
  ) {}

  /** Starts an analysis for `request`. */
  static async start(request: AnalysisRequest): Promise<EntryAnalysis> {
    const extras: [DigestAlgorithm, Digester][] = [];
    for (const algorithm of new Set(request.extraAlgorithms)) {
      if (algorithm !== request.algorithm) extras.push([algorithm, await createDigester(algorithm)]);
    }
    let probe: ContentProbe | null = null;
    if (request.detect) {
      await prepareValidators();
      probe = new ContentProbe(request.detect.size, VALIDATORS);
    }
    return new EntryAnalysis(await createDigester(request.algorithm), extras, probe);
  }

  /** Feeds the next chunk. */
  update(chunk: Uint8Array): void {
    this.main.update(chunk);
    for (const [, digester] of this.extras) digester.update(chunk);
    this.probe?.update(chunk);
    this.bytes += chunk.length;
  }

  /** The result; call once, after the last chunk. */
  finish(): AnalysisResult {
    const main = this.main.hex();
    const extra: AnalysisResult['extra'] = {};
    for (const [algorithm, digester] of this.extras) extra[algorithm] = digester.hex();
    return { digest: main, extra, bytes: this.bytes, ...(this.probe ? { content: this.probe.finish() } : {}) };
  }
}
