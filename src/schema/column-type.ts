import type { ColumnDef } from './table-def.js'

/**
 * COLUMN_TYPE parsed just far enough to decide whether one type holds every value of another. Types the
 * schema diff never widens are kept as normalized text and compared for equality only.
 */
export type ParsedType =
  | { family: 'int'; bytes: number; unsigned: boolean }
  | { family: 'decimal'; precision: number; scale: number; unsigned: boolean }
  | { family: 'float' | 'double'; unsigned: boolean }
  | { family: 'bit'; bits: number }
  | { family: 'char' | 'varchar' | 'binary' | 'varbinary'; length: number }
  | { family: 'text' | 'blob'; bytes: number }
  | { family: 'enum' | 'set'; values: string[] }
  | { family: 'datetime' | 'time' | 'timestamp'; fsp: number }
  | { family: 'other'; text: string }

const INT_BYTES: Record<string, number> = {
  tinyint: 1,
  smallint: 2,
  mediumint: 3,
  int: 4,
  integer: 4,
  bigint: 8,
}

// Capacity in bytes of each TEXT/BLOB size (https://dev.mysql.com/doc/refman/8.0/en/storage-requirements.html).
const LOB_BYTES: Record<string, number> = {
  tinytext: 255,
  text: 65_535,
  mediumtext: 16_777_215,
  longtext: 4_294_967_295,
  tinyblob: 255,
  blob: 65_535,
  mediumblob: 16_777_215,
  longblob: 4_294_967_295,
}

// Bytes per character at most (information_schema.CHARACTER_SETS.MAXLEN); unknown sets count as 4.
const CHARSET_MAXLEN: Record<string, number> = {
  ascii: 1,
  latin1: 1,
  latin2: 1,
  binary: 1,
  ucs2: 2,
  utf8: 3,
  utf8mb3: 3,
  utf8mb4: 4,
  utf16: 4,
  utf32: 4,
}

/** Parse a column's COLUMN_TYPE. Integer display widths and ZEROFILL are ignored: they change no value. */
export function parseColumnType(c: Pick<ColumnDef, 'dataType' | 'columnType'>): ParsedType {
  const type = c.columnType.toLowerCase().trim()
  const dataType = c.dataType.toLowerCase()
  const unsigned = /\bunsigned\b/.test(type) || /\bzerofill\b/.test(type)
  const args = /^[a-z]+\s*\(([^)]*)\)/.exec(type)?.[1]
  const nums = args === undefined ? [] : args.split(',').map((s) => Number(s.trim()))
  const n0 = nums[0]
  const bytes = INT_BYTES[dataType]
  if (bytes !== undefined) return { family: 'int', bytes, unsigned }
  if (LOB_BYTES[dataType] !== undefined) {
    return { family: dataType.endsWith('text') ? 'text' : 'blob', bytes: LOB_BYTES[dataType]! }
  }
  switch (dataType) {
    case 'decimal':
    case 'numeric':
      // DECIMAL without arguments is DECIMAL(10,0).
      return { family: 'decimal', precision: n0 ?? 10, scale: nums[1] ?? 0, unsigned }
    case 'float':
    case 'double':
    case 'real':
      // FLOAT(M,D) and DOUBLE(M,D) round to D decimals: never widened, only compared as text.
      if (args !== undefined) break
      return { family: dataType === 'float' ? 'float' : 'double', unsigned }
    case 'bit':
      return { family: 'bit', bits: n0 ?? 1 }
    case 'char':
    case 'varchar':
    case 'binary':
    case 'varbinary':
      return { family: dataType, length: n0 ?? 1 }
    case 'enum':
    case 'set':
      return { family: dataType, values: parseValueList(type) }
    case 'datetime':
    case 'time':
    case 'timestamp':
      return { family: dataType, fsp: n0 ?? 0 }
  }
  // YEAR(4) is MariaDB's spelling of MySQL 8's YEAR.
  return { family: 'other', text: type === 'year(4)' ? 'year' : type }
}

/** The values of `enum('a','b''c')`: COLUMN_TYPE doubles embedded quotes. */
export function parseValueList(columnType: string): string[] {
  const body = columnType.slice(columnType.indexOf('(') + 1, columnType.lastIndexOf(')'))
  return [...body.matchAll(/'((?:[^']|'')*)'/g)].map((m) => (m[1] ?? '').replaceAll("''", "'"))
}

/** Most bytes one character of this character set takes. */
export function charsetMaxLen(charset: string | null): number {
  return charset === null ? 4 : (CHARSET_MAXLEN[charset.toLowerCase()] ?? 4)
}

/** utf8 and utf8mb3 are one character set under two names (older servers use the first). */
export function normalizeCharset(name: string | null): string | null {
  if (name === null) return null
  const lower = name.toLowerCase()
  if (lower === 'utf8') return 'utf8mb3'
  return lower.startsWith('utf8_') ? `utf8mb3_${lower.slice(5)}` : lower
}
