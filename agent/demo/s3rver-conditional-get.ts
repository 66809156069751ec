/**
 * `If-Match` on GetObject for s3rver 3.7.1, installed over its handler by
 * `installConditionalGet`.
 *
 * Why: s3rver ignores If-Match (it knows only If-None-Match and If-Modified-Since), so a read
 * pinned to a version would silently get a newer one. AWS S3, MinIO and Ceph answer
 * 412 PreconditionFailed; the embedded store must too, or the demo and the tests could not show
 * vouch refusing to splice two versions of an object. Every other request is s3rver's own.
 */

interface GetContext {
  method: string;
  headers: Record<string, string | string[] | undefined>;
  params: { bucket: string; key: string };
  store: { getMetadata(bucket: string, key: string): Promise<{ etag?: string }> };
}

type Handler = (ctx: GetContext) => Promise<void>;
type S3ErrorConstructor = new (code: string, message: string, detail?: Record<string, unknown>) => Error;

const PATCHED = Symbol.for('vouch.s3rver.conditionalGet');

const unquote = (etag: string) => etag.trim().replace(/^(W\/)?"(.*)"$/, '$2');

/** Wraps s3rver's GetObject/HeadObject handler with If-Match (idempotent, process-wide). */
export function installConditionalGet(requireFromHere: (id: string) => unknown): void {
  const controller = requireFromHere('s3rver/lib/controllers/object.js') as {
    getObject: Handler;
    [PATCHED]?: true;
  };
  if (controller[PATCHED]) return;
  const S3Error = requireFromHere('s3rver/lib/models/error.js') as S3ErrorConstructor;
  const original = controller.getObject;

  controller.getObject = async function getObject(ctx: GetContext): Promise<void> {
    const header = ctx.headers['if-match'];
    const wanted = Array.isArray(header) ? header[0] : header;
    if (wanted !== undefined && wanted.trim() !== '*') {
      const stored = await ctx.store.getMetadata(ctx.params.bucket, ctx.params.key).catch(() => null);
      // A missing key is s3rver's own NoSuchKey (the original handler reports it).
      if (stored && !wanted.split(',').some((tag) => unquote(tag) === unquote(stored.etag ?? ''))) {
        throw new S3Error(
          'PreconditionFailed',
          'At least one of the pre-conditions you specified did not hold',
          { Condition: 'If-Match' },
        );
      }
    }
    return original(ctx);
  };
  controller[PATCHED] = true;
}
