/**
 * A ListObjectsV2 handler for s3rver 3.7.1, installed over s3rver's own by `installListObjectsV2`.
 *
 * Why: s3rver encrypts continuation tokens with single DES, which OpenSSL 3 (Node >= 17) no
 * longer provides, so every truncated ListObjectsV2 page fails with 500 InternalError and no
 * listing past 1000 keys works. Its listing is also ordered by its on-disk layout, not by key
 * bytes, so pages can come out of order and keys can be skipped across pages.
 *
 * This handler asks s3rver's store for every key under the prefix, sorts by UTF-8 bytes as S3
 * does, and pages with a plain opaque token (base64url of the last key). Each page costs one walk
 * of the prefix: fine for demo- and test-sized buckets, which is all the embedded store is for.
 * Listing v1 and every other request still go to s3rver unchanged.
 */
interface StoredObject {
  key: string;
  size: number;
  lastModifiedDate: Date;
  metadata: Record<string, string>;
}

interface ListContext {
  query: Record<string, string | string[] | undefined>;
  params: { bucket: string };
  store: {
    listObjects(
      bucket: string,
      options: { prefix?: string; delimiter?: string },
    ): Promise<{ objects: StoredObject[]; commonPrefixes: string[] }>;
  };
  body: unknown;
}

type Handler = (ctx: ListContext) => Promise<void>;
type S3ErrorConstructor = new (code: string, message: string, detail?: Record<string, unknown>) => Error;

const PATCHED = Symbol.for('vouch.s3rver.listObjectsV2');

function byBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** Replaces s3rver's bucket GET handler for `list-type=2` (idempotent, process-wide). */
export function installListObjectsV2(requireFromHere: (id: string) => unknown): void {
  const controller = requireFromHere('s3rver/lib/controllers/bucket.js') as {
    getBucket: Handler;
    [PATCHED]?: true;
  };
  if (controller[PATCHED]) return;
  const S3Error = requireFromHere('s3rver/lib/models/error.js') as S3ErrorConstructor;
  const original = controller.getBucket;

  controller.getBucket = async function getBucket(ctx: ListContext): Promise<void> {
    const one = (name: string): string | undefined => {
      const value = ctx.query[name];
      return Array.isArray(value) ? value[0] : value;
    };
    if (one('list-type') !== '2') return original(ctx);

    const maxKeysText = one('max-keys');
    if (maxKeysText !== undefined && !/^\d+$/.test(maxKeysText)) {
      throw new S3Error('InvalidArgument', 'Provided max-keys not an integer or within integer range', {
        ArgumentName: 'max-keys',
        ArgumentValue: maxKeysText,
      });
    }
    const maxKeys = Math.min(1000, maxKeysText === undefined ? 1000 : Number(maxKeysText));
    const token = one('continuation-token');
    let startAfter = one('start-after') ?? '';
    if (token) {
      startAfter = Buffer.from(token, 'base64url').toString('utf8');
      if (!startAfter)
        throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect', {
          ArgumentName: 'continuation-token',
        });
    }
    const prefix = one('prefix') ?? '';
    const delimiter = one('delimiter') || undefined;

    const listed = await ctx.store.listObjects(ctx.params.bucket, {
      prefix,
      ...(delimiter ? { delimiter } : {}),
    });
    const entries: { key: string; object?: StoredObject }[] = [
      ...listed.objects.map((object) => ({ key: object.key, object })),
      ...listed.commonPrefixes.map((key) => ({ key })),
    ]
      .filter((entry) => byBytes(entry.key, startAfter) > 0)
      .sort((a, b) => byBytes(a.key, b.key));
    const page = entries.slice(0, maxKeys);
    const truncated = maxKeys > 0 && entries.length > maxKeys;

    ctx.body = {
      ListBucketResult: {
        '@': { xmlns: 'http://s3.amazonaws.com/doc/2006-03-01/' },
        Name: ctx.params.bucket,
        Prefix: prefix,
        StartAfter: token ? undefined : one('start-after'),
        ContinuationToken: token || undefined,
        NextContinuationToken: truncated
          ? Buffer.from(page.at(-1)!.key, 'utf8').toString('base64url')
          : undefined,
        KeyCount: page.length,
        MaxKeys: maxKeysText ?? 1000,
        Delimiter: delimiter,
        IsTruncated: truncated,
        Contents: page.flatMap(({ object }) =>
          object
            ? [
                {
                  Key: object.key,
                  LastModified: object.lastModifiedDate.toISOString(),
                  ETag: object.metadata.etag,
                  Size: object.size,
                  StorageClass: 'STANDARD',
                },
              ]
            : [],
        ),
        CommonPrefixes: page.flatMap(({ key, object }) => (object ? [] : [{ Prefix: key }])),
      },
    };
  };
  controller[PATCHED] = true;
}
