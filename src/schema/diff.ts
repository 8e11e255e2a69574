import { type CollationTarget, sameCollation } from '../db/flavor-collation.js'
import { assertNever } from '../errors.js'
import { charsetMaxLen, normalizeCharset, type ParsedType, parseColumnType } from './column-type.js'
import { diffDefinition } from './diff-definition.js'
import { type CheckDef, type ColumnDef, LOAD_ID_COLUMN, ROW_ID_COLUMN, type TableDef } from './table-def.js'

/** Why a changed type is a lossless widening: every value the target column holds fits the new type. */
export type WidenReason =
  | 'varchar_length'
  | 'char_length'
  | 'char_to_varchar'
  | 'string_to_text'
  | 'varbinary_length'
  | 'binary_length'
  | 'binary_to_varbinary'
  | 'binary_to_blob'
  | 'int_width'
  | 'int_signedness'
  | 'decimal_precision_scale'
  | 'float_to_double'
  | 'bit_length'
  | 'text_blob_size'
  | 'enum_values_appended'
  | 'set_values_appended'
  | 'fsp_raised'

/**
 * One difference between a source table and its target copy, as the sync would handle it. Changes that
 * modify an existing column carry `column`: the complete definition the target column should get, so that
 * several changes to one column (widen + relax nullability) render as one MODIFY.
 */
export type SchemaChange =
  /** A source column the target lacks; `after` is the preceding source column, null for FIRST. */
  | { kind: 'add_column'; column: ColumnDef; after: string | null }
  | { kind: 'widen_column'; column: ColumnDef; from: string; to: string; reason: WidenReason }
  /** The source column accepts NULL, the target's does not. */
  | { kind: 'relax_nullability'; column: ColumnDef }
  /** The source dropped (or renamed) a NOT NULL column: the target keeps it, nullable, and writes NULL. */
  | { kind: 'keep_dropped_column'; column: ColumnDef }
  /** A column's COMMENT changed: `column` is the target's definition with the source's comment. */
  | { kind: 'column_comment'; column: ColumnDef; from: string; to: string }
  | { kind: 'table_comment'; from: string; to: string }
  /** A CHECK constraint the source has and the target lacks, or the other way round. */
  | { kind: 'add_check'; check: CheckDef }
  | { kind: 'drop_check'; check: CheckDef }
  /** Cannot be applied without losing or changing data: the table needs a full refresh. */
  | { kind: 'incompatible'; column: string; sourceType: string; targetType: string; reason: string }

/**
 * Compare a source table with its target copy. Pure. Columns match by name, case-insensitively as MySQL
 * does; `_dlt_*` columns are the target's own. A rename shows as an add plus a keep. Nothing here ever
 * drops, narrows or reorders: the target only grows, and a difference that cannot grow is `incompatible`.
 * A target column more permissive than the source's (nullable where the source is NOT NULL) is fine as is.
 */
export function diffTable(
  source: TableDef,
  target: TableDef,
  targetFlavor?: CollationTarget,
): SchemaChange[] {
  const changes: SchemaChange[] = []
  if (!sameNames(source.primaryKey, target.primaryKey)) {
    changes.push({
      kind: 'incompatible',
      column: 'PRIMARY KEY',
      sourceType: keyText(source.primaryKey),
      targetType: keyText(target.primaryKey),
      reason: 'the primary key changed',
    })
  }
  // A table dbsync did not create (made by hand, or by another tool) lacks the row metadata every write
  // sets: a clear refusal with the way out, instead of an "Unknown column" from the first INSERT.
  const missingOwn = [LOAD_ID_COLUMN, ROW_ID_COLUMN].filter(
    (n) => !target.columns.some((c) => c.name.toLowerCase() === n),
  )
  if (missingOwn.length > 0) {
    changes.push({
      kind: 'incompatible',
      column: missingOwn.join(', '),
      sourceType: 'dbsync row metadata',
      targetType: 'none',
      reason: `the target table was not created by dbsync: it has no ${missingOwn.join(' or ')} column`,
    })
  }
  const targetCols = new Map(
    target.columns.filter((c) => !isOwn(c.name)).map((c) => [c.name.toLowerCase(), c]),
  )
  const sourceNames = new Set<string>()
  let previous: string | null = null
  for (const s of source.columns) {
    if (isOwn(s.name)) continue
    sourceNames.add(s.name.toLowerCase())
    const t = targetCols.get(s.name.toLowerCase())
    if (t) changes.push(...diffColumn(s, t, targetFlavor))
    else changes.push({ kind: 'add_column', column: s, after: previous })
    previous = s.name
  }
  for (const [name, t] of targetCols) {
    // A nullable kept column already takes the NULLs the sync writes; a generated one is not written at all.
    if (sourceNames.has(name) || t.nullable || t.generated !== null) continue
    changes.push({ kind: 'keep_dropped_column', column: keptColumn(t) })
  }
  changes.push(...diffDefinition(source, target))
  return changes
}

/**
 * Columns the target keeps that the source no longer has (dbsync never drops them; rows are written with
 * NULL there), `_dlt_*` aside.
 */
export function keptColumns(source: TableDef, target: TableDef): string[] {
  const names = new Set(source.columns.map((c) => c.name.toLowerCase()))
  return target.columns.filter((c) => !isOwn(c.name) && !names.has(c.name.toLowerCase())).map((c) => c.name)
}

/** The target's definition of a column the source dropped: nullable, defaulting to NULL, no AUTO_INCREMENT. */
export function keptColumn(c: ColumnDef): ColumnDef {
  return { ...c, nullable: true, default: { kind: 'null' }, autoIncrement: false }
}

/** A change in words, for the run summary, `_sync_runs` and `diff-schema`. */
export function describeChange(c: SchemaChange): string {
  switch (c.kind) {
    case 'add_column':
      return `add column ${c.column.name} ${c.column.columnType}`
    case 'widen_column':
      return `widen ${c.column.name} ${c.from} -> ${c.to}`
    case 'relax_nullability':
      return `make ${c.column.name} nullable`
    case 'keep_dropped_column':
      return `keep ${c.column.name} (dropped in the source), now nullable`
    case 'column_comment':
      return `comment of ${c.column.name}: ${JSON.stringify(c.from)} -> ${JSON.stringify(c.to)}`
    case 'table_comment':
      return `table comment: ${JSON.stringify(c.from)} -> ${JSON.stringify(c.to)}`
    case 'add_check':
      return `add check ${c.check.name}: ${c.check.clause}`
    case 'drop_check':
      return `drop check ${c.check.name} (not in the source): ${c.check.clause}`
    case 'incompatible':
      return `incompatible ${c.column}: ${c.targetType} -> ${c.sourceType} (${c.reason})`
    default:
      return assertNever(c)
  }
}

/** A change as plain data for `--json`: no nested column definitions. */
export function changeSummary(c: SchemaChange): Record<string, string | null> {
  const base = { kind: c.kind, description: describeChange(c) }
  switch (c.kind) {
    case 'add_column':
      return { ...base, column: c.column.name, type: c.column.columnType, after: c.after }
    case 'widen_column':
      return { ...base, column: c.column.name, from: c.from, to: c.to, reason: c.reason }
    case 'relax_nullability':
    case 'keep_dropped_column':
      return { ...base, column: c.column.name, type: c.column.columnType }
    case 'column_comment':
      return { ...base, column: c.column.name, from: c.from, to: c.to }
    case 'table_comment':
      return { ...base, from: c.from, to: c.to }
    case 'add_check':
    case 'drop_check':
      return { ...base, name: c.check.name, clause: c.check.clause }
    case 'incompatible':
      return {
        ...base,
        column: c.column,
        sourceType: c.sourceType,
        targetType: c.targetType,
        reason: c.reason,
      }
    default:
      return assertNever(c)
  }
}

function diffColumn(s: ColumnDef, t: ColumnDef, targetFlavor?: CollationTarget): SchemaChange[] {
  const incompatible = (reason: string): SchemaChange[] => [
    { kind: 'incompatible', column: s.name, sourceType: s.columnType, targetType: t.columnType, reason },
  ]
  if ((s.generated === null) !== (t.generated === null)) {
    return incompatible(s.generated ? 'the column became generated' : 'the column is no longer generated')
  }
  if (s.generated && t.generated && !sameExpression(s.generated, t.generated)) {
    return incompatible('the generation expression changed')
  }
  // The new definition: the source's, but never less permissive than what the target already accepts.
  const column: ColumnDef = { ...s, nullable: s.nullable || t.nullable }
  const changes: SchemaChange[] = []
  const verdict = compareTypes(s, t)
  if (verdict.kind === 'incompatible') return incompatible(verdict.reason)
  if (verdict.kind === 'widen') {
    changes.push({
      kind: 'widen_column',
      column,
      from: t.columnType,
      to: s.columnType,
      reason: verdict.reason,
    })
  }
  // MySQL's JSON has no character set; MariaDB's JSON is LONGTEXT utf8mb4_bin: compare neither.
  if (s.dataType !== 'json' && s.charset !== null && t.charset !== null) {
    if (
      !sameColumnCollation(s.collation, t.collation, targetFlavor) ||
      normalizeCharset(s.charset) !== normalizeCharset(t.charset)
    ) {
      return [
        {
          kind: 'incompatible',
          column: s.name,
          sourceType: `${s.columnType} ${s.collation ?? s.charset}`,
          targetType: `${t.columnType} ${t.collation ?? t.charset}`,
          reason: 'the character set or collation changed',
        },
      ]
    }
  }
  if (s.nullable && !t.nullable) changes.push({ kind: 'relax_nullability', column })
  return changes
}

type Verdict =
  | { kind: 'same' }
  | { kind: 'widen'; reason: WidenReason }
  | { kind: 'incompatible'; reason: string }

const SAME: Verdict = { kind: 'same' }
const NARROWER: Verdict = { kind: 'incompatible', reason: 'the new type is narrower' }
const widen = (reason: WidenReason): Verdict => ({ kind: 'widen', reason })

/** Whether the source's type `s` holds every value of the target's type `t`. */
function compareTypes(s: ColumnDef, t: ColumnDef): Verdict {
  // What MariaDB makes of a JSON column created from MySQL's definition.
  if (s.dataType === 'json' && t.dataType === 'longtext') return SAME
  const a = parseColumnType(t)
  const b = parseColumnType(s)
  const grow = (from: number, to: number, reason: WidenReason): Verdict =>
    to === from ? SAME : to > from ? widen(reason) : NARROWER
  switch (a.family) {
    case 'int':
      if (b.family !== 'int') break
      return compareInts(a, b)
    case 'decimal': {
      if (b.family !== 'decimal') break
      if (a.unsigned === false && b.unsigned) return { kind: 'incompatible', reason: 'signed to unsigned' }
      const same = a.precision === b.precision && a.scale === b.scale && a.unsigned === b.unsigned
      if (same) return SAME
      // Lossless only when neither the integer digits nor the scale shrink.
      const fits = b.precision - b.scale >= a.precision - a.scale && b.scale >= a.scale
      return fits ? widen('decimal_precision_scale') : NARROWER
    }
    case 'float':
    case 'double':
      if ((b.family !== 'float' && b.family !== 'double') || a.unsigned !== b.unsigned) break
      // Every FLOAT is exactly a DOUBLE; the way back rounds.
      return a.family === b.family ? SAME : b.family === 'double' ? widen('float_to_double') : NARROWER
    case 'bit':
      if (b.family !== 'bit') break
      return grow(a.bits, b.bits, 'bit_length')
    case 'char':
    case 'varchar':
    case 'binary':
    case 'varbinary':
      return compareStrings(a, b, t.charset)
    case 'text':
    case 'blob':
      if (b.family !== a.family) break
      return grow(a.bytes, b.bytes, 'text_blob_size')
    case 'enum':
    case 'set': {
      if (b.family !== a.family) break
      const prefix = a.values.every((v, i) => b.values[i] === v)
      if (prefix && b.values.length === a.values.length) return SAME
      if (prefix && b.values.length > a.values.length) {
        return widen(a.family === 'enum' ? 'enum_values_appended' : 'set_values_appended')
      }
      // ENUM/SET store positions: a reordered or removed value would change or lose stored rows.
      return { kind: 'incompatible', reason: `${a.family.toUpperCase()} values reordered or removed` }
    }
    case 'datetime':
    case 'time':
    case 'timestamp':
      if (b.family !== a.family) break
      return grow(a.fsp, b.fsp, 'fsp_raised')
    case 'other':
      if (b.family === 'other' && b.text === a.text) return SAME
      break
    default:
      return assertNever(a)
  }
  return { kind: 'incompatible', reason: 'the type changed' }
}

function compareInts(a: ParsedType & { family: 'int' }, b: ParsedType & { family: 'int' }): Verdict {
  if (a.bytes === b.bytes && a.unsigned === b.unsigned) return SAME
  if (!a.unsigned && b.unsigned) return { kind: 'incompatible', reason: 'signed to unsigned' }
  // Unsigned to signed needs a wider type: TINYINT UNSIGNED (0..255) fits SMALLINT, not TINYINT.
  const fits = a.unsigned === b.unsigned ? b.bytes >= a.bytes : b.bytes > a.bytes
  if (!fits) return NARROWER
  return widen(a.unsigned === b.unsigned ? 'int_width' : 'int_signedness')
}

type StringType = ParsedType & { family: 'char' | 'varchar' | 'binary' | 'varbinary' }

function compareStrings(a: StringType, b: ParsedType, charset: string | null): Verdict {
  const binary = a.family === 'binary' || a.family === 'varbinary'
  if (b.family === 'text' || b.family === 'blob') {
    if ((b.family === 'blob') !== binary) return { kind: 'incompatible', reason: 'the type changed' }
    const need = binary ? a.length : a.length * charsetMaxLen(charset)
    return need <= b.bytes ? widen(binary ? 'binary_to_blob' : 'string_to_text') : NARROWER
  }
  if (b.family !== 'char' && b.family !== 'varchar' && b.family !== 'binary' && b.family !== 'varbinary') {
    return { kind: 'incompatible', reason: 'the type changed' }
  }
  const reason = STRING_REASONS[`${a.family}>${b.family}`]
  // VARCHAR to CHAR would strip trailing spaces; VARBINARY to BINARY would pad with zero bytes.
  if (reason === undefined) return { kind: 'incompatible', reason: 'the type changed' }
  if (b.length < a.length) return NARROWER
  return b.length === a.length && a.family === b.family ? SAME : widen(reason)
}

const STRING_REASONS: Record<string, WidenReason> = {
  'char>char': 'char_length',
  'char>varchar': 'char_to_varchar',
  'varchar>varchar': 'varchar_length',
  'binary>binary': 'binary_length',
  'binary>varbinary': 'binary_to_varbinary',
  'varbinary>varbinary': 'varbinary_length',
}

function isOwn(name: string): boolean {
  return name.startsWith('_dlt_')
}

function sameNames(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x.toLowerCase() === b[i]?.toLowerCase())
}

function keyText(key: string[]): string {
  return key.length ? `(${key.join(', ')})` : '(none)'
}

// Servers print the same expression with different quoting and spacing: compare what is left.
function sameExpression(
  a: { expression: string; stored: boolean },
  b: { expression: string; stored: boolean },
) {
  const norm = (e: string) =>
    e
      .replace(/[`\s]/g, '')
      .toLowerCase()
      .replace(/^\((.*)\)$/, '$1')
  return a.stored === b.stored && norm(a.expression) === norm(b.expression)
}

/**
 * The target's collation is the source's, or what the target flavor maps it to (a MySQL 8 utf8mb4_0900_*
 * column on MariaDB, say): then nothing changed. Without the target's flavor only equal names match.
 */
function sameColumnCollation(s: string | null, t: string | null, targetFlavor?: CollationTarget): boolean {
  const a = normalizeCharset(s)
  const b = normalizeCharset(t)
  if (a === b) return true
  return a !== null && b !== null && targetFlavor !== undefined && sameCollation(a, b, targetFlavor)
}
