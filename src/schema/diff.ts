import { type CollationTarget, sameCollation } from '../db/flavor-collation.js'
import type { SchemaChange } from './change.js'
import { normalizeCharset } from './column-type.js'
import { diffDefinition } from './diff-definition.js'
import { type ColumnDef, LOAD_ID_COLUMN, ROW_ID_COLUMN, type TableDef } from './table-def.js'
import { compareTypes } from './type-compat.js'

// The change vocabulary lives in change.ts (so diff-definition.ts can use it without a cycle); importers of
// diffTable read it from here.
export { changeSummary, describeChange, type SchemaChange, type WidenReason } from './change.js'

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
