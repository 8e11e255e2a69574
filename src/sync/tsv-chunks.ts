/*
 * LOAD DATA text is written straight into 256 KiB chunks (load-data.ts encodes the rows), and the chunks
 * of a sent batch are recycled for the next: a million rows would otherwise make tens of millions of small
 * Buffers, and a few hundred MB of chunks freed per copy stay resident in the C allocator.
 */

import { MD5_B64URL_LENGTH, md5Base64url } from './md5.js'

export const TAB = 0x09
export const NL = 0x0a
const BACKSLASH = 0x5c
const CHUNK = 256 * 1024
// Room past CHUNK for the row that crosses it, so a chunk rarely needs to grow.
const SLACK = 64 * 1024
// A value continues in the next chunk once less than this is left in the current one.
const MIN_ROOM = 256

/**
 * Chunk buffers of finished batches, for the next batches: a copy would otherwise allocate and free a
 * few hundred MB of them, which the C allocator keeps as resident memory long after they are garbage.
 */
const spareChunks: Buffer[] = []
const SPARE_MAX = 64

function takeChunk(): Buffer {
  return spareChunks.pop() ?? Buffer.allocUnsafe(CHUNK + SLACK)
}

/** Give back the buffers of a batch whose bytes have been sent (RowEncoder.buffers). */
export function recycleChunks(buffers: Buffer[]): void {
  for (const b of buffers) {
    if (b.length === CHUNK + SLACK && spareChunks.length < SPARE_MAX) spareChunks.push(b)
  }
}

/** Writes LOAD DATA text into chunks: raw bytes, ASCII, `\N` for NULL, and escaped values. */
export class ChunkWriter {
  private chunks: Buffer[] = []
  /** Every buffer written into, for recycleChunks once the chunks are sent. */
  readonly owned: Buffer[] = []
  private buf = this.take()
  private len = 0
  private flushed = 0

  private take(): Buffer {
    const b = takeChunk()
    this.owned.push(b)
    return b
  }

  get size(): number {
    return this.flushed + this.len
  }

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return
    // Rows may span chunks: the chunks are one stream of bytes.
    if (this.len > 0 && n <= CHUNK) {
      this.nextChunk()
      return
    }
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n))
    this.buf.copy(bigger, 0, 0, this.len)
    this.buf = bigger
  }

  byte(b: number): void {
    this.ensure(1)
    this.buf[this.len++] = b
  }

  raw(v: Buffer): void {
    this.ensure(v.length)
    this.buf.set(v, this.len)
    this.len += v.length
  }

  ascii(s: string): void {
    this.ensure(s.length)
    this.len += this.buf.write(s, this.len, 'latin1')
  }

  nullField(): void {
    this.ensure(2)
    this.buf[this.len++] = BACKSLASH
    this.buf[this.len++] = 0x4e // N
  }

  /**
   * Copy a value, escaping the bytes LOAD DATA treats specially (and NUL, which some servers cut at). A
   * value larger than the room left continues in the next chunk, so a big BLOB never makes a chunk grow
   * (a grown chunk is garbage after one use, and a few MB of them per batch is what RSS would hold).
   */
  escaped(v: Buffer, start: number, end: number): void {
    let i = start
    for (;;) {
      // Each input byte takes at most two output bytes: this many surely fit.
      const n = Math.min(end - i, (this.buf.length - this.len) >> 1)
      i = this.escapeInto(v, i, i + n)
      if (i === end) return
      if (this.buf.length - this.len < MIN_ROOM) this.nextChunk()
    }
  }

  private escapeInto(v: Buffer, start: number, end: number): number {
    const buf = this.buf
    let o = this.len
    for (let i = start; i < end; i++) {
      const b = v[i]!
      if (b === TAB) {
        buf[o++] = BACKSLASH
        buf[o++] = 0x74 // t
      } else if (b === NL) {
        buf[o++] = BACKSLASH
        buf[o++] = 0x6e // n
      } else if (b === BACKSLASH) {
        buf[o++] = BACKSLASH
        buf[o++] = BACKSLASH
      } else if (b === 0) {
        buf[o++] = BACKSLASH
        buf[o++] = 0x30 // 0
      } else {
        buf[o++] = b
      }
    }
    this.len = o
    return end
  }

  /** The `_dlt_id` text of `v[start, end)`: its MD5 in base64url. */
  md5(v: Buffer, start: number, end: number): void {
    this.ensure(MD5_B64URL_LENGTH)
    md5Base64url(v, start, end, this.buf, this.len)
    this.len += MD5_B64URL_LENGTH
  }

  maybeFlush(): void {
    if (this.len >= CHUNK) this.nextChunk()
  }

  /** Close the current chunk and go on in a fresh one. */
  private nextChunk(): void {
    this.chunks.push(this.buf.subarray(0, this.len))
    this.flushed += this.len
    this.buf = this.take()
    this.len = 0
  }

  finish(): Buffer[] {
    if (this.len > 0) this.chunks.push(this.buf.subarray(0, this.len))
    return this.chunks
  }
}
