import { assertNever } from '../errors.js'
import type { CheckDef, ColumnDef } from './table-def.js'

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
