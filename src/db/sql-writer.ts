/*
 * SQL text written as bytes: the INSERT path encodes each row's literals straight into the statement's
 * Buffer as the row arrives (sync/insert-encoder.ts), as the LOAD DATA path does with its text, instead
 * of building a string per value. A statement's bytes are sent as its packet (db/driver.ts queryBytes); where
 * they cannot be, as one string decoded from them (mysql2 takes no Buffer for SQL text). That round trip
 * is exact too because everything written is ASCII or valid UTF-8 (quoted text is checked by canQuote,
 * identifiers are JS strings), and mysql2 encodes the string back as UTF-8, the connection's character
 * set: these very bytes. A statement with non-ASCII text becomes a two-byte string, twice its bytes:
 * insert-encoder.ts caps those statements at half the size.
 */

const QUOTE = 0x27
const BACKSLASH = 0x5c
const ZERO = 0x30
const HEX = Buffer.from('0123456789abcdef', 'latin1')

/**
 * Buffers of sent statements, reused by the next ones. Every buffer goes back here, not just a few: a
 * statement's buffer lives while its batch waits to be sent, long enough to be promoted to V8's old
 * generation, and a dropped one was then freed only by a full collection, which V8 starts once about 64 MB
 * of such buffers pile up (measured: 10 -> 68 MB of ArrayBuffers in the first 1M-row INSERT copy's first
 * seconds, 25 MB more RSS at steady state). So the pool is as big as the most statements ever in flight
 * (a few batches' worth, about 15 MB), and bounded for safety.
 */
const spare: Buffer[] = []
const SPARE_MAX = 512
/** Room for a whole statement (insert-encoder.ts caps them at 120 KB), so one rarely grows. */
export const STATEMENT_BUFFER = 128 * 1024

/** A growable byte buffer of SQL text. */
export class SqlWriter {
  buf: Buffer = spare.pop() ?? Buffer.allocUnsafe(STATEMENT_BUFFER)
  len: number

  /** `start`: bytes kept free before the text (a packet header, db/driver.ts queryBytes). */
  constructor(readonly start = 0) {
    this.len = start
  }
  /** Whether anything but ASCII was written (identifiers, quoted UTF-8): the text is decoded as UTF-8. */
  wide = false

  /** The buffer, grown if needed to take `n` more bytes. */
  room(n: number): Buffer {
    if (this.len + n > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n))
      this.buf.copy(bigger, 0, 0, this.len)
      this.buf = bigger
    }
    return this.buf
  }

  byte(b: number): void {
    this.room(1)[this.len++] = b
  }

  /** ASCII text (keywords, row ids, codec-checked digits). */
  ascii(s: string): void {
    this.len += this.room(s.length).write(s, this.len, 'latin1')
  }

  /** Text in UTF-8 (quoted identifiers, which may be anything). */
  utf8(s: string): void {
    const bytes = Buffer.from(s, 'utf8')
    if (bytes.length !== s.length) this.wide = true
    this.raw(bytes)
  }

  /** Bytes copied as they are (short values byte by byte: cheaper than a native copy's call). */
  raw(v: Buffer, start = 0, end = v.length): void {
    const buf = this.room(end - start)
    if (end - start > 64) {
      v.copy(buf, this.len, start, end)
      this.len += end - start
      return
    }
    let o = this.len
    for (let i = start; i < end; i++) buf[o++] = v[i]!
    this.len = o
  }

  /** `X'..'`: the bytes in hex, for any value. */
  hex(v: Buffer, start: number, end: number): void {
    const buf = this.room(3 + (end - start) * 2)
    let o = this.len
    buf[o++] = 0x58 // X
    buf[o++] = QUOTE
    for (let i = start; i < end; i++) {
      const b = v[i]!
      buf[o++] = HEX[b >> 4]!
      buf[o++] = HEX[b & 15]!
    }
    buf[o++] = QUOTE
    this.len = o
  }

  /**
   * `'..'` with each quote doubled and a backslash or NUL escaped (`\\`, `\0`: the session's sql_mode
   * keeps backslash escapes on, db/connect.ts): only for bytes `canQuote` accepted.
   */
  quoted(v: Buffer, start: number, end: number): void {
    const buf = this.room(2 + (end - start) * 2)
    let o = this.len
    let high = 0
    buf[o++] = QUOTE
    for (let i = start; i < end; i++) {
      const b = v[i]!
      high |= b
      if (b === QUOTE) {
        buf[o++] = QUOTE
      } else if (b === BACKSLASH) {
        buf[o++] = BACKSLASH
      } else if (b === 0) {
        buf[o++] = BACKSLASH
        buf[o++] = ZERO
        continue
      }
      buf[o++] = b
    }
    buf[o++] = QUOTE
    this.len = o
    if (high >= 0x80) this.wide = true
  }

  /** The text written so far, as the string mysql2 sends (encoded as UTF-8, these very bytes). */
  text(): string {
    return this.buf.toString(this.wide ? 'utf8' : 'latin1', this.start, this.len)
  }

  /** Give the buffer back for later statements; the writer is not used again. */
  release(): void {
    if (spare.length < SPARE_MAX && this.buf.length === STATEMENT_BUFFER) spare.push(this.buf)
    this.buf = EMPTY
    this.len = 0
  }
}

const EMPTY = Buffer.alloc(0)

/**
 * Whether a value may be written as a quoted literal (`'..'`) rather than in hex, which doubles its bytes:
 * ASCII always (quotes doubled, backslash and NUL escaped); with `utf8`, for a column whose character set
 * is utf8mb4, any valid UTF-8 too. The statement crosses mysql2 as a JS string and back to UTF-8, and the
 * server checks the text against the column's character set, so invalid UTF-8 (stray bytes, overlong
 * forms, surrogates, past U+10FFFF) must not be quoted: it goes in hex, byte for byte. Non-ASCII text of
 * other character sets (latin1's é is one byte, not UTF-8) goes in hex too.
 */
export function canQuote(v: Buffer, start: number, end: number, utf8 = false): boolean {
  let i = start
  while (i < end) {
    const b = v[i]!
    if (b < 0x80) {
      i++
      continue
    }
    if (!utf8) return false
    const n = utf8Length(v, i, end)
    if (n === 0) return false
    i += n
  }
  return true
}

/** The length of the valid UTF-8 sequence at `v[i]` (a lead byte of 0x80 or more), or 0 (RFC 3629). */
function utf8Length(v: Buffer, i: number, end: number): number {
  const b = v[i]!
  const cont = (k: number, lo = 0x80, hi = 0xbf) => i + k < end && v[i + k]! >= lo && v[i + k]! <= hi
  if (b >= 0xc2 && b <= 0xdf) return cont(1) ? 2 : 0
  if (b >= 0xe0 && b <= 0xef) {
    const lo = b === 0xe0 ? 0xa0 : 0x80
    const hi = b === 0xed ? 0x9f : 0xbf
    return cont(1, lo, hi) && cont(2) ? 3 : 0
  }
  if (b >= 0xf0 && b <= 0xf4) {
    const lo = b === 0xf0 ? 0x90 : 0x80
    const hi = b === 0xf4 ? 0x8f : 0xbf
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0
  }
  return 0
}

const D0 = 0x30
const D9 = 0x39
const isDigit = (b: number) => b >= D0 && b <= D9

/**
 * The byte form of codec.ts's number check, `^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$`: digits, sign,
 * point and exponent as the server prints numbers, so an unquoted literal never carries anything else.
 */
export function isNumberText(v: Buffer, start: number, end: number): boolean {
  let i = start
  if (i < end && (v[i] === 0x2d || v[i] === 0x2b)) i++
  const intStart = i
  while (i < end && isDigit(v[i]!)) i++
  let digits = i - intStart
  if (i < end && v[i] === 0x2e) {
    i++
    const fracStart = i
    while (i < end && isDigit(v[i]!)) i++
    digits += i - fracStart
  }
  if (digits === 0) return false
  if (i < end && (v[i] === 0x65 || v[i] === 0x45)) {
    i++
    if (i < end && (v[i] === 0x2d || v[i] === 0x2b)) i++
    const expStart = i
    while (i < end && isDigit(v[i]!)) i++
    if (i === expStart) return false
  }
  return i === end
}

/** The byte form of codec.ts's temporal check, `^-?[\d: .-]+$` (the class holds the sign too). */
export function isTemporalText(v: Buffer, start: number, end: number): boolean {
  if (start === end) return false
  for (let i = start; i < end; i++) {
    const b = v[i]!
    if (!(isDigit(b) || b === 0x3a || b === 0x20 || b === 0x2e || b === 0x2d)) return false
  }
  return true
}
