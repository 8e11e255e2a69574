import { hash } from 'node:crypto'
import type { RawRow } from './read.js'

/**
 * `_dlt_id`: a stable id of the row derived from its primary key: MD5 of the key's bytes (for a composite
 * key, each part prefixed with its length), base64url, 22 characters. The same row keeps the same id across
 * runs and full refreshes. A table without a key gets load id + ordinal: unique, stable within one load.
 */
export function rowId(row: RawRow, keyIndexes: number[], loadId: string, ordinal: number): string {
  if (keyIndexes.length === 0) return hash('md5', `${loadId}:${ordinal}`, 'base64url')
  if (keyIndexes.length === 1) return hash('md5', row[keyIndexes[0]!] ?? EMPTY, 'base64url')
  const parts: Buffer[] = []
  for (const i of keyIndexes) {
    const v = row[i] ?? EMPTY
    const len = Buffer.allocUnsafe(4)
    len.writeUInt32BE(v.length)
    parts.push(len, v)
  }
  return hash('md5', Buffer.concat(parts), 'base64url')
}

const EMPTY = Buffer.alloc(0)
