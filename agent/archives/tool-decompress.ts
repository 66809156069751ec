/**
 * xz, bzip2 and lz4 decompression through the host's own tools (Debian xz-utils, bzip2, lz4), as
 * a pipeline stage like the in-process gzip and zstd ones. npm has no well-kept streaming decoder
 * for these that checks what the formats let a decoder check (xz's block checks, bzip2's block
 * CRCs, lz4's content checksum) and bounds its memory; the tools do, in native code, on a core of
 * their own.
 *
 * The tool's output is yielded as it comes, so everything before damage is still read; a tool
 * that fails becomes a `DecompressError` quoting it (truncated when it says the data ended early).
 * xz runs with a decoder memory limit, so a hostile header asking for a huge dictionary fails
 * instead of allocating it. Stopping the stage (a ratio cap, an abort) kills the tool.
 */
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { startTool, ToolFailedError, type ToolName } from '../tools/tool-process.js';
import { DecompressError } from './decompress-error.js';

/** Compressions decoded by a host tool. */
export type ToolCompression = 'xz' | 'bzip2' | 'lz4';

/** Decoder memory xz may use: xz -9 needs 65 MiB, so this refuses only hostile dictionaries. */
const XZ_MEMORY_LIMIT = '512MiB';

const ARGUMENTS: Record<ToolCompression, readonly string[]> = {
  xz: ['--decompress', '--stdout', `--memlimit-decompress=${XZ_MEMORY_LIMIT}`, '--no-adjust'],
  bzip2: ['--decompress', '--stdout'],
  lz4: ['-d', '-c'],
};

/** What each tool says when its input stops early. */
const TRUNCATED = /unexpected end of input|ends unexpectedly|unfinished stream/i;

/** The tool's complaint without its program-name and error-number prefixes. */
function complaint(stderr: string): string {
  return stderr
    .replace(/(^| \/ )(\S*\/)?(xz|bzip2|lz4): (\(stdin\): )?/gi, '$1')
    .replace(/(^| \/ )Error \d+ : /g, '$1')
    .replace(/ \/ It is possible that the compressed file.*$/s, '')
    .trim();
}

/** The decompressing pipeline stage for `compression`. */
export function toolDecompressor(
  compression: ToolCompression,
): (chunks: AsyncIterable<Buffer>) => AsyncGenerator<Buffer> {
  const tool: ToolName = compression;
  return async function* decompress(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    const run = startTool(tool, ARGUMENTS[compression], { stdin: 'pipe' });
    let readFailure: { error: unknown } | null = null;
    const feeding = pipeline(Readable.from(chunks), run.child.stdin!).catch((error: unknown) => {
      // EPIPE: the tool stopped reading (it failed, or the stage was stopped); its exit says why.
      if (
        (error as { code?: string }).code !== 'EPIPE' &&
        (error as { code?: string }).code !== 'ERR_STREAM_PREMATURE_CLOSE'
      )
        readFailure = { error };
      run.kill();
    });
    try {
      for await (const chunk of run.child.stdout! as AsyncIterable<Buffer>) yield chunk;
      await feeding;
      const failed = readFailure as { error: unknown } | null;
      if (failed) throw failed.error;
      try {
        await run.done;
      } catch (error) {
        if (error instanceof ToolFailedError) {
          const said = complaint(error.stderr);
          const truncated = TRUNCATED.test(said);
          throw new DecompressError(
            `${compression} data is ${truncated ? 'truncated' : 'corrupt'}: ${said || error.message}`,
            truncated,
            { cause: error },
          );
        }
        throw error;
      }
    } finally {
      run.kill();
      await feeding;
    }
  };
}
