/*
 * MD5 in plain JavaScript, for `_dlt_id` on the bulk path: the ids are MD5s of a few dozen bytes, one per
 * row, and node:crypto's one-shot hash costs about a microsecond a call in the crossing alone (plus a
 * string and a few Buffers per row), a third of dbsync's CPU on a narrow table. This computes the same
 * digest (RFC 1321) over bytes already in a buffer and writes its base64url text straight into another,
 * allocating nothing. Longer inputs go to node:crypto, where the crossing is no longer what costs.
 */
import { hash } from 'node:crypto'

/** Inputs up to this many bytes are hashed here (two blocks with the padding); longer ones by node:crypto. */
export const MD5_JS_MAX = 119

/** Length in bytes of the base64url text of an MD5 digest (no padding). */
export const MD5_B64URL_LENGTH = 22

/** The padded message as words: one or two blocks of 16. */
const x = new Int32Array(32)
/** The running state (A, B, C, D); the rounds work on it in two halves. */
const st = new Int32Array(4)
const digest = Buffer.alloc(16)
const B64URL = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_', 'latin1')

/**
 * MD5 of `input[start, end)`, as 22 base64url characters written into `out` at `at` (the same text as
 * `hash('md5', input.subarray(start, end), 'base64url')`).
 */
export function md5Base64url(input: Buffer, start: number, end: number, out: Buffer, at: number): void {
  const len = end - start
  if (len > MD5_JS_MAX) {
    out.write(hash('md5', input.subarray(start, end), 'base64url'), at, 'latin1')
    return
  }
  // The padded message is assembled as little-endian words straight from the input, byte by byte:
  // Buffer's copy and fill cross into C++, which is the cost this file avoids.
  const words = len < 56 ? 16 : 32
  for (let i = 0; i < words; i++) x[i] = 0
  for (let i = 0; i < len; i++) x[i >> 2]! |= input[start + i]! << ((i & 3) << 3)
  x[len >> 2]! |= 0x80 << ((len & 3) << 3)
  // The message length in bits in the last two words (far below 2^32 bits here).
  x[words - 2] = len * 8
  let a = 0x67452301
  let b = 0xefcdab89 | 0
  let c = 0x98badcfe | 0
  let d = 0x10325476
  for (let o = 0; o < words; o += 16) {
    st[0] = a
    st[1] = b
    st[2] = c
    st[3] = d
    round1(o)
    round2(o)
    round3(o)
    round4(o)
    a = (a + st[0]!) | 0
    b = (b + st[1]!) | 0
    c = (c + st[2]!) | 0
    d = (d + st[3]!) | 0
  }
  littleEndian(a, 0)
  littleEndian(b, 4)
  littleEndian(c, 8)
  littleEndian(d, 12)
  base64url(digest, out, at)
}

// The four rounds of RFC 1321, 16 steps each, written out: V8 would not inline 64 calls of a helper.
function round1(o: number): void {
  let a = st[0]!
  let b = st[1]!
  let c = st[2]!
  let d = st[3]!
  let n: number
  n = (a + ((b & c) | (~b & d)) + x[o]! - 680876936) | 0
  a = (((n << 7) | (n >>> 25)) + b) | 0
  n = (d + ((a & b) | (~a & c)) + x[o + 1]! - 389564586) | 0
  d = (((n << 12) | (n >>> 20)) + a) | 0
  n = (c + ((d & a) | (~d & b)) + x[o + 2]! + 606105819) | 0
  c = (((n << 17) | (n >>> 15)) + d) | 0
  n = (b + ((c & d) | (~c & a)) + x[o + 3]! - 1044525330) | 0
  b = (((n << 22) | (n >>> 10)) + c) | 0
  n = (a + ((b & c) | (~b & d)) + x[o + 4]! - 176418897) | 0
  a = (((n << 7) | (n >>> 25)) + b) | 0
  n = (d + ((a & b) | (~a & c)) + x[o + 5]! + 1200080426) | 0
  d = (((n << 12) | (n >>> 20)) + a) | 0
  n = (c + ((d & a) | (~d & b)) + x[o + 6]! - 1473231341) | 0
  c = (((n << 17) | (n >>> 15)) + d) | 0
  n = (b + ((c & d) | (~c & a)) + x[o + 7]! - 45705983) | 0
  b = (((n << 22) | (n >>> 10)) + c) | 0
  n = (a + ((b & c) | (~b & d)) + x[o + 8]! + 1770035416) | 0
  a = (((n << 7) | (n >>> 25)) + b) | 0
  n = (d + ((a & b) | (~a & c)) + x[o + 9]! - 1958414417) | 0
  d = (((n << 12) | (n >>> 20)) + a) | 0
  n = (c + ((d & a) | (~d & b)) + x[o + 10]! - 42063) | 0
  c = (((n << 17) | (n >>> 15)) + d) | 0
  n = (b + ((c & d) | (~c & a)) + x[o + 11]! - 1990404162) | 0
  b = (((n << 22) | (n >>> 10)) + c) | 0
  n = (a + ((b & c) | (~b & d)) + x[o + 12]! + 1804603682) | 0
  a = (((n << 7) | (n >>> 25)) + b) | 0
  n = (d + ((a & b) | (~a & c)) + x[o + 13]! - 40341101) | 0
  d = (((n << 12) | (n >>> 20)) + a) | 0
  n = (c + ((d & a) | (~d & b)) + x[o + 14]! - 1502002290) | 0
  c = (((n << 17) | (n >>> 15)) + d) | 0
  n = (b + ((c & d) | (~c & a)) + x[o + 15]! + 1236535329) | 0
  b = (((n << 22) | (n >>> 10)) + c) | 0
  st[0] = a
  st[1] = b
  st[2] = c
  st[3] = d
}

function round2(o: number): void {
  let a = st[0]!
  let b = st[1]!
  let c = st[2]!
  let d = st[3]!
  let n: number
  n = (a + ((b & d) | (c & ~d)) + x[o + 1]! - 165796510) | 0
  a = (((n << 5) | (n >>> 27)) + b) | 0
  n = (d + ((a & c) | (b & ~c)) + x[o + 6]! - 1069501632) | 0
  d = (((n << 9) | (n >>> 23)) + a) | 0
  n = (c + ((d & b) | (a & ~b)) + x[o + 11]! + 643717713) | 0
  c = (((n << 14) | (n >>> 18)) + d) | 0
  n = (b + ((c & a) | (d & ~a)) + x[o]! - 373897302) | 0
  b = (((n << 20) | (n >>> 12)) + c) | 0
  n = (a + ((b & d) | (c & ~d)) + x[o + 5]! - 701558691) | 0
  a = (((n << 5) | (n >>> 27)) + b) | 0
  n = (d + ((a & c) | (b & ~c)) + x[o + 10]! + 38016083) | 0
  d = (((n << 9) | (n >>> 23)) + a) | 0
  n = (c + ((d & b) | (a & ~b)) + x[o + 15]! - 660478335) | 0
  c = (((n << 14) | (n >>> 18)) + d) | 0
  n = (b + ((c & a) | (d & ~a)) + x[o + 4]! - 405537848) | 0
  b = (((n << 20) | (n >>> 12)) + c) | 0
  n = (a + ((b & d) | (c & ~d)) + x[o + 9]! + 568446438) | 0
  a = (((n << 5) | (n >>> 27)) + b) | 0
  n = (d + ((a & c) | (b & ~c)) + x[o + 14]! - 1019803690) | 0
  d = (((n << 9) | (n >>> 23)) + a) | 0
  n = (c + ((d & b) | (a & ~b)) + x[o + 3]! - 187363961) | 0
  c = (((n << 14) | (n >>> 18)) + d) | 0
  n = (b + ((c & a) | (d & ~a)) + x[o + 8]! + 1163531501) | 0
  b = (((n << 20) | (n >>> 12)) + c) | 0
  n = (a + ((b & d) | (c & ~d)) + x[o + 13]! - 1444681467) | 0
  a = (((n << 5) | (n >>> 27)) + b) | 0
  n = (d + ((a & c) | (b & ~c)) + x[o + 2]! - 51403784) | 0
  d = (((n << 9) | (n >>> 23)) + a) | 0
  n = (c + ((d & b) | (a & ~b)) + x[o + 7]! + 1735328473) | 0
  c = (((n << 14) | (n >>> 18)) + d) | 0
  n = (b + ((c & a) | (d & ~a)) + x[o + 12]! - 1926607734) | 0
  b = (((n << 20) | (n >>> 12)) + c) | 0
  st[0] = a
  st[1] = b
  st[2] = c
  st[3] = d
}

function round3(o: number): void {
  let a = st[0]!
  let b = st[1]!
  let c = st[2]!
  let d = st[3]!
  let n: number
  n = (a + (b ^ c ^ d) + x[o + 5]! - 378558) | 0
  a = (((n << 4) | (n >>> 28)) + b) | 0
  n = (d + (a ^ b ^ c) + x[o + 8]! - 2022574463) | 0
  d = (((n << 11) | (n >>> 21)) + a) | 0
  n = (c + (d ^ a ^ b) + x[o + 11]! + 1839030562) | 0
  c = (((n << 16) | (n >>> 16)) + d) | 0
  n = (b + (c ^ d ^ a) + x[o + 14]! - 35309556) | 0
  b = (((n << 23) | (n >>> 9)) + c) | 0
  n = (a + (b ^ c ^ d) + x[o + 1]! - 1530992060) | 0
  a = (((n << 4) | (n >>> 28)) + b) | 0
  n = (d + (a ^ b ^ c) + x[o + 4]! + 1272893353) | 0
  d = (((n << 11) | (n >>> 21)) + a) | 0
  n = (c + (d ^ a ^ b) + x[o + 7]! - 155497632) | 0
  c = (((n << 16) | (n >>> 16)) + d) | 0
  n = (b + (c ^ d ^ a) + x[o + 10]! - 1094730640) | 0
  b = (((n << 23) | (n >>> 9)) + c) | 0
  n = (a + (b ^ c ^ d) + x[o + 13]! + 681279174) | 0
  a = (((n << 4) | (n >>> 28)) + b) | 0
  n = (d + (a ^ b ^ c) + x[o]! - 358537222) | 0
  d = (((n << 11) | (n >>> 21)) + a) | 0
  n = (c + (d ^ a ^ b) + x[o + 3]! - 722521979) | 0
  c = (((n << 16) | (n >>> 16)) + d) | 0
  n = (b + (c ^ d ^ a) + x[o + 6]! + 76029189) | 0
  b = (((n << 23) | (n >>> 9)) + c) | 0
  n = (a + (b ^ c ^ d) + x[o + 9]! - 640364487) | 0
  a = (((n << 4) | (n >>> 28)) + b) | 0
  n = (d + (a ^ b ^ c) + x[o + 12]! - 421815835) | 0
  d = (((n << 11) | (n >>> 21)) + a) | 0
  n = (c + (d ^ a ^ b) + x[o + 15]! + 530742520) | 0
  c = (((n << 16) | (n >>> 16)) + d) | 0
  n = (b + (c ^ d ^ a) + x[o + 2]! - 995338651) | 0
  b = (((n << 23) | (n >>> 9)) + c) | 0
  st[0] = a
  st[1] = b
  st[2] = c
  st[3] = d
}

function round4(o: number): void {
  let a = st[0]!
  let b = st[1]!
  let c = st[2]!
  let d = st[3]!
  let n: number
  n = (a + (c ^ (b | ~d)) + x[o]! - 198630844) | 0
  a = (((n << 6) | (n >>> 26)) + b) | 0
  n = (d + (b ^ (a | ~c)) + x[o + 7]! + 1126891415) | 0
  d = (((n << 10) | (n >>> 22)) + a) | 0
  n = (c + (a ^ (d | ~b)) + x[o + 14]! - 1416354905) | 0
  c = (((n << 15) | (n >>> 17)) + d) | 0
  n = (b + (d ^ (c | ~a)) + x[o + 5]! - 57434055) | 0
  b = (((n << 21) | (n >>> 11)) + c) | 0
  n = (a + (c ^ (b | ~d)) + x[o + 12]! + 1700485571) | 0
  a = (((n << 6) | (n >>> 26)) + b) | 0
  n = (d + (b ^ (a | ~c)) + x[o + 3]! - 1894986606) | 0
  d = (((n << 10) | (n >>> 22)) + a) | 0
  n = (c + (a ^ (d | ~b)) + x[o + 10]! - 1051523) | 0
  c = (((n << 15) | (n >>> 17)) + d) | 0
  n = (b + (d ^ (c | ~a)) + x[o + 1]! - 2054922799) | 0
  b = (((n << 21) | (n >>> 11)) + c) | 0
  n = (a + (c ^ (b | ~d)) + x[o + 8]! + 1873313359) | 0
  a = (((n << 6) | (n >>> 26)) + b) | 0
  n = (d + (b ^ (a | ~c)) + x[o + 15]! - 30611744) | 0
  d = (((n << 10) | (n >>> 22)) + a) | 0
  n = (c + (a ^ (d | ~b)) + x[o + 6]! - 1560198380) | 0
  c = (((n << 15) | (n >>> 17)) + d) | 0
  n = (b + (d ^ (c | ~a)) + x[o + 13]! + 1309151649) | 0
  b = (((n << 21) | (n >>> 11)) + c) | 0
  n = (a + (c ^ (b | ~d)) + x[o + 4]! - 145523070) | 0
  a = (((n << 6) | (n >>> 26)) + b) | 0
  n = (d + (b ^ (a | ~c)) + x[o + 11]! - 1120210379) | 0
  d = (((n << 10) | (n >>> 22)) + a) | 0
  n = (c + (a ^ (d | ~b)) + x[o + 2]! + 718787259) | 0
  c = (((n << 15) | (n >>> 17)) + d) | 0
  n = (b + (d ^ (c | ~a)) + x[o + 9]! - 343485551) | 0
  b = (((n << 21) | (n >>> 11)) + c) | 0
  st[0] = a
  st[1] = b
  st[2] = c
  st[3] = d
}

function littleEndian(v: number, at: number): void {
  digest[at] = v & 0xff
  digest[at + 1] = (v >>> 8) & 0xff
  digest[at + 2] = (v >>> 16) & 0xff
  digest[at + 3] = v >>> 24
}

/** 16 bytes as 22 base64url characters (no padding). */
function base64url(v: Buffer, out: Buffer, at: number): void {
  let o = at
  for (let i = 0; i < 15; i += 3) {
    const n = (v[i]! << 16) | (v[i + 1]! << 8) | v[i + 2]!
    out[o++] = B64URL[n >>> 18]!
    out[o++] = B64URL[(n >>> 12) & 63]!
    out[o++] = B64URL[(n >>> 6) & 63]!
    out[o++] = B64URL[n & 63]!
  }
  const n = v[15]!
  out[o++] = B64URL[n >>> 2]!
  out[o] = B64URL[(n & 3) << 4]!
}
