// Reads a log file line by line as raw bytes, with the byte offset of every line, starting at any
// offset (so ingestion can resume mid-file). Memory stays constant: a line longer than
// `maxLineBytes` is reported as too long and skipped, never buffered whole.
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';

export interface Line {
  /** Bytes of the line without CR LF / LF. */
  bytes: Buffer;
  /** Byte offset of the line's first byte in the file. */
  offset: number;
  /** Byte offset just after the line's LF (where the next line starts). */
  end: number;
  /** False for a last line without a line break (a row still being written). */
  complete: boolean;
  /** True when the line exceeded maxLineBytes; `bytes` then holds only its start. */
  tooLong: boolean;
}

export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;

const CHUNK_BYTES = 128 * 1024;

/**
 * The whole of a file of at most `maxBytes` (one read chunk by default), or undefined when it is
 * larger. Asynchronous (a hung network share blocks a thread-pool thread, never the event loop), so
 * ingestion can read the next small files while it scans this one: on an ArchivedLogs share of tens
 * of thousands of daily files, each stream's open-read-read-close round trips (~0.2 ms) add up.
 */
export async function readSmallFile(file: string, maxBytes = CHUNK_BYTES): Promise<Buffer | undefined> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    if (size > maxBytes) return undefined;
    const buffer = Buffer.allocUnsafe(size);
    let filled = 0;
    // A read may return less than asked (network file systems): read until full or the end.
    while (filled < size) {
      const { bytesRead } = await handle.read(buffer, filled, size - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return buffer.subarray(0, filled);
  } finally {
    await handle.close();
  }
}

/**
 * Lines in batches (one batch per read chunk of 128 KiB: big enough to be fast, small enough that a file of millions of malformed lines stays well under 200 MB RSS): one asynchronous step per chunk instead of
 * per line, which is what makes verification fast.
 */
export async function* readLineBatches(file: string, options: { start?: number; maxLineBytes?: number; content?: Buffer } = {}): AsyncGenerator<Line[]> {
  const max = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  let offset = options.start ?? 0; // where the current (partial) line started
  let parts: Buffer[] = [];
  let length = 0;
  let tooLong = false;
  // `content`: the file, already read (readSmallFile); otherwise it is streamed.
  const chunks = options.content ? [options.content.subarray(options.start ?? 0)] : (createReadStream(file, { start: options.start ?? 0, highWaterMark: CHUNK_BYTES }) as AsyncIterable<Buffer>);
  for await (const chunk of chunks) {
    const batch: Line[] = [];
    let from = 0;
    for (;;) {
      const newline = chunk.indexOf(0x0a, from);
      const piece = chunk.subarray(from, newline === -1 ? chunk.length : newline);
      if (!tooLong) {
        if (length + piece.length > max) {
          tooLong = true;
          parts.push(piece.subarray(0, Math.max(0, Math.min(piece.length, 256 - length))));
        } else {
          parts.push(piece);
        }
      }
      length += piece.length;
      if (newline === -1) break;
      // Chunks are fresh buffers, so a line inside one chunk is referenced, not copied.
      let bytes = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
      if (!tooLong && bytes[bytes.length - 1] === 0x0d) bytes = bytes.subarray(0, bytes.length - 1);
      const end = offset + length + 1;
      batch.push({ bytes, offset, end, complete: true, tooLong });
      offset = end;
      parts = [];
      length = 0;
      tooLong = false;
      from = newline + 1;
    }
    // A partial line is kept across chunks: copy it so the chunk can be released.
    if (parts.length > 0) parts = [Buffer.from(Buffer.concat(parts))];
    if (batch.length > 0) yield batch;
  }
  if (length > 0) yield [{ bytes: Buffer.concat(parts), offset, end: offset + length, complete: false, tooLong }];
}

/** Line by line (for the header and other short reads). */
export async function* readLines(file: string, options: { start?: number; maxLineBytes?: number; content?: Buffer } = {}): AsyncGenerator<Line> {
  for await (const batch of readLineBatches(file, options)) yield* batch;
}
