/** The bytes `_dlt_id` hashes for a composite key or a keyless row (row-id.ts), built in one reused buffer. */
export class IdMessage {
  buf = Buffer.alloc(256)
  len = 0

  reset(): void {
    this.len = 0
  }

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return
    const bigger = Buffer.alloc(Math.max(this.buf.length * 2, this.len + n))
    this.buf.copy(bigger, 0, 0, this.len)
    this.buf = bigger
  }

  ascii(s: string): void {
    this.room(s.length)
    this.len += this.buf.write(s, this.len, 'latin1')
  }

  /** A key part: its length as 4 bytes big-endian, then its bytes. */
  lengthPrefixed(v: Buffer, start: number, end: number): void {
    const n = end - start
    this.room(4 + n)
    const b = this.buf
    let o = this.len
    b[o++] = n >>> 24
    b[o++] = (n >>> 16) & 0xff
    b[o++] = (n >>> 8) & 0xff
    b[o++] = n & 0xff
    for (let i = start; i < end; i++) b[o++] = v[i]!
    this.len = o
  }
}
