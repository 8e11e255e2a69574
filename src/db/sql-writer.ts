/*
 * SQL text written as bytes: the INSERT path encodes each row's literals straight into the statement's
 * Buffer as the row arrives (sync/insert-encoder.ts), as the LOAD DATA path does with its text, instead
 * of building a string per value. A statement is handed to mysql2 as one string decoded from these bytes
 * (mysql2 takes no Buffer for SQL text); that round trip is exact because values are written in ASCII
 * only (quoted ASCII text, hex, digits) and identifiers as UTF-8. ASCII values keep the string one byte
 * per character: measured on the INSERT path, quoting non-ASCII text too (as UTF-8, making every statement
 * a two-byte string) cost about 40 MB more peak RSS for no gain in time.
 */

const QUOTE = 0x27
const BACKSLASH = 0x5c
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
  len = 0
  /** Whether anything but ASCII was written (identifiers): the text is then decoded as UTF-8. */
  private wide = false

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

  /** `'..'` with each quote doubled: only for bytes `canQuote` accepted. */
  quoted(v: Buffer, start: number, end: number): void {
    const buf = this.room(2 + (end - start) * 2)
    let o = this.len
    buf[o++] = QUOTE
    for (let i = start; i < end; i++) {
      const b = v[i]!
      buf[o++] = b
      if (b === QUOTE) buf[o++] = QUOTE
    }
    buf[o++] = QUOTE
    this.len = o
  }

  /** The text written so far, as the string mysql2 sends (encoded as UTF-8, these very bytes). */
  text(): string {
    return this.buf.toString(this.wide ? 'utf8' : 'latin1', 0, this.len)
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
 * Whether a value may be written as a quoted literal (`'..'`, quotes doubled) rather than in hex, which
 * doubles its bytes: ASCII without a backslash or a NUL byte, which the server reads byte for byte whatever
 * its sql_mode (a backslash means an escape unless NO_BACKSLASH_ESCAPES is set; doubled quotes mean one
 * quote either way). Everything else goes in hex.
 */
export function canQuote(v: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const b = v[i]!
    if (b === BACKSLASH || b === 0 || b >= 0x80) return false
  }
  return true
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
