/** The S3 anchor of head-anchor.ts: `s3://BUCKET/PREFIXheads/NAME`; Object Lock on the bucket keeps them. */
import { createHash } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from '../sources/s3-client.js';
import {
  anchoredHeadName,
  bySeq,
  parseHead,
  parseName,
  type AnchoredHeadName,
  type HeadAnchor,
} from './anchored-head.js';
import { type AnchorSpec } from '../model/anchor-spec.js';

/** An S3 anchor (the caller may pass its own client, e.g. the embedded store's). */
export function s3Anchor(
  spec: Extract<AnchorSpec, { kind: 's3' }>,
  client: S3Client = createS3Client(spec),
): HeadAnchor {
  const prefix = `${spec.prefix}heads/`;
  return {
    location: `s3://${spec.bucket}/${spec.prefix}`,
    async put(head) {
      const body = Buffer.from(`${JSON.stringify(head)}\n`);
      // Content-MD5: buckets with Object Lock refuse writes without an integrity header.
      await client.send(
        new PutObjectCommand({
          Bucket: spec.bucket,
          Key: prefix + anchoredHeadName(head),
          Body: body,
          ContentType: 'application/json',
          ContentMD5: createHash('md5').update(body).digest('base64'),
        }),
      );
    },
    async list() {
      const found: AnchoredHeadName[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({
            Bucket: spec.bucket,
            Prefix: prefix,
            ...(token ? { ContinuationToken: token } : {}),
          }),
        );
        for (const object of page.Contents ?? []) {
          const parsed = object.Key ? parseName(object.Key.slice(prefix.length), object.Key) : null;
          if (parsed) found.push(parsed);
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return found.sort(bySeq);
    },
    async get(entry) {
      const object = await client.send(new GetObjectCommand({ Bucket: spec.bucket, Key: entry.name }));
      return parseHead((await object.Body?.transformToString('utf8')) ?? '');
    },
    close() {
      client.destroy();
    },
  };
}
