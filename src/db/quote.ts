/** Quote an identifier (table, column, index) for MySQL/MariaDB: backticks, inner backticks doubled. */
export function quoteId(name: string): string {
  if (name.length === 0) throw new Error('empty SQL identifier')
  if (name.includes('\u0000')) throw new Error('SQL identifier contains a NUL byte')
  return '`' + name.replaceAll('`', '``') + '`'
}

/** `a`.`b` */
export function quoteQualified(schema: string, name: string): string {
  return `${quoteId(schema)}.${quoteId(name)}`
}

/**
 * Escape a JS string as a single-quoted SQL literal. Safe because every session runs with utf8mb4 as
 * character_set_client and without NO_BACKSLASH_ESCAPES (db/connect.ts sets both), so no multi-byte
 * sequence can hide a quote. Prefer `?` placeholders; this serves DDL, where placeholders are not allowed.
 */
export function quoteString(value: string): string {
  return (
    "'" +
    value.replace(/[\0\b\t\n\r\x1a'"\\]/g, (c) => {
      switch (c) {
        case '\0':
          return '\\0'
        case '\b':
          return '\\b'
        case '\t':
          return '\\t'
        case '\n':
          return '\\n'
        case '\r':
          return '\\r'
        case '\x1a':
          return '\\Z'
        default:
          return '\\' + c
      }
    }) +
    "'"
  )
}
