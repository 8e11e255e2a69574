/**
 * Every MySQL/MariaDB difference lives here (with flavor-collation.ts, and flavor-differences.ts listing
 * them all with their sources). Shared code asks the Flavor, never the server's name.
 */
import { type CollationChoice, collationFor } from './flavor-collation.js'

export type { CollationChoice } from './flavor-collation.js'

export type ColumnDefault =
  | { kind: 'none' }
  | { kind: 'null' }
  | { kind: 'literal'; value: string }
  | { kind: 'expression'; sql: string }

export interface Flavor {
  kind: 'mysql' | 'mariadb'
  /** As reported by SELECT VERSION(). */
  version: string
  major: number
  minor: number
  patch: number
  /**
   * Turn information_schema.COLUMNS.COLUMN_DEFAULT (+ EXTRA) into a ColumnDefault.
   * MariaDB >= 10.2.7 quotes literal defaults ('abc'), reports a NULL default as the text 'NULL' and
   * expressions unquoted (current_timestamp()); MySQL reports literals unquoted, NULL as SQL NULL, and
   * marks expression defaults with EXTRA 'DEFAULT_GENERATED' (8.0.13+).
   */
  parseDefault(raw: string | null, extra: string, dataType: string, nullable: boolean): ColumnDefault
  /**
   * The ON DUPLICATE KEY UPDATE assignment for column `quoted` taking the new row's value.
   * MySQL 8.0.20 deprecates VALUES(); 8.0.19+ has the row alias (`AS _new`). MariaDB has only VALUES().
   */
  upsertValueRef(quotedColumn: string): string
  /** Text between `VALUES (...)` and `ON DUPLICATE KEY UPDATE`: the row alias where supported. */
  upsertRowAlias: string
  /** The character-set name to use in an introducer (`_utf8mb4`) or a column definition on this server. */
  charsetName(name: string): string
  /** information_schema.STATISTICS has an EXPRESSION column (functional key parts, MySQL 8.0.13+). */
  hasFunctionalIndexes: boolean
  /** The name of the first-class JSON type; on MariaDB JSON is LONGTEXT with a json_valid() check. */
  hasNativeJson: boolean
  /**
   * Where the server lists the CHECK constraints of a table (schema/introspect.ts reads them): null where it
   * keeps none (MySQL before 8.0.16 parses CHECK and ignores it; MariaDB before 10.2.22). MariaDB's
   * CHECK_CONSTRAINTS has TABLE_NAME (names are unique per table there) and every check is enforced;
   * MySQL's has not (names are unique per schema), so it is joined with TABLE_CONSTRAINTS, which also says
   * whether it is enforced.
   */
  checkConstraints: 'check-constraints' | 'joined-with-table-constraints' | null
  /**
   * Whether CHECK constraints are created with their source names. MariaDB scopes the names per table;
   * MySQL per schema, so a full refresh's staging table could not hold the live table's names beside it:
   * there they are left for the server to generate (`<table>_chk_N`), and compared by clause only.
   */
  namesChecks: boolean
  /**
   * The prefix length an index key part may be given in DDL. MariaDB reports SUB_PART = 32 for every part
   * of a SPATIAL index, and a target given `(col(32))` refuses it (ER_WRONG_SUB_KEY): spatial and fulltext
   * parts never carry one.
   */
  indexSubPart(indexKind: string, subPart: number | null): number | null
  /**
   * The collation to create a column or table with on this (target) server for a source collation:
   * MySQL 8's utf8mb4_0900_* become MariaDB's UCA 14.0.0 NO PAD collations and back, utf8mb3_* is spelled
   * utf8_* where the server predates that name; `name: null` when nothing equivalent exists.
   */
  collationFor(sourceCollation: string): CollationChoice
  /** Columns can be INVISIBLE (MySQL 8.0.23+, MariaDB 10.3.3+); older servers get them visible. */
  hasInvisibleColumns: boolean
  /** True for this server version or a later one. */
  atLeast(major: number, minor: number, patch: number): boolean
}

const MARIADB_RE = /mariadb/i

/** Build the Flavor from `SELECT VERSION()` (and @@version_comment, which names MariaDB on some builds). */
export function detectFlavor(version: string, versionComment = ''): Flavor {
  const kind = MARIADB_RE.test(version) || MARIADB_RE.test(versionComment) ? 'mariadb' : 'mysql'
  // MariaDB 10.x on old replication setups reports "5.5.5-10.x.y-MariaDB": skip the 5.5.5- prefix.
  const cleaned = version.replace(/^5\.5\.5-/, '')
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(cleaned)
  const major = Number(m?.[1] ?? 0)
  const minor = Number(m?.[2] ?? 0)
  const patch = Number(m?.[3] ?? 0)
  const atLeast = (a: number, b: number, c: number) =>
    major > a || (major === a && (minor > b || (minor === b && patch >= c)))
  const rowAlias = kind === 'mysql' && atLeast(8, 0, 19)

  return {
    kind,
    version,
    major,
    minor,
    patch,
    parseDefault: kind === 'mariadb' ? parseMariadbDefault : parseMysqlDefault,
    upsertValueRef: rowAlias ? (q) => `\`_new\`.${q}` : (q) => `VALUES(${q})`,
    upsertRowAlias: rowAlias ? ' AS `_new`' : '',
    charsetName(name) {
      // MariaDB 10.6+ reports utf8mb3 and older ones utf8; MySQL has accepted utf8mb3 as an alias since
      // 5.5.3 and reports it from 8.0.30 (collation names: see collationFor).
      if (name === 'utf8mb3' || name === 'utf8') {
        const knowsMb3 = kind === 'mariadb' ? atLeast(10, 6, 0) : atLeast(8, 0, 0)
        return knowsMb3 ? 'utf8mb3' : 'utf8'
      }
      return name
    },
    hasFunctionalIndexes: kind === 'mysql' && atLeast(8, 0, 13),
    hasNativeJson: kind === 'mysql',
    checkConstraints:
      kind === 'mariadb'
        ? atLeast(10, 2, 22)
          ? 'check-constraints'
          : null
        : atLeast(8, 0, 16)
          ? 'joined-with-table-constraints'
          : null,
    namesChecks: kind === 'mariadb',
    indexSubPart: (indexKind, subPart) => (/^(SPATIAL|FULLTEXT)$/i.test(indexKind) ? null : subPart),
    collationFor: (name) => collationFor(name, { kind, atLeast }),
    hasInvisibleColumns: kind === 'mysql' ? atLeast(8, 0, 23) : atLeast(10, 3, 3),
    atLeast,
  }
}

const BIT_LITERAL_RE = /^b'[01]*'$/
const EXPRESSION_RE = /^(current_timestamp|now|localtime|localtimestamp)(\(\d*\))?$/i

function parseMariadbDefault(
  raw: string | null,
  _extra: string,
  _type: string,
  nullable: boolean,
): ColumnDefault {
  if (raw === null) return nullable ? { kind: 'null' } : { kind: 'none' }
  if (raw === 'NULL') return { kind: 'null' }
  if (BIT_LITERAL_RE.test(raw)) return { kind: 'expression', sql: raw }
  if (raw.length >= 2 && raw.startsWith("'") && raw.endsWith("'")) {
    // MariaDB doubles embedded quotes and escapes backslashes in the quoted literal it reports.
    return { kind: 'literal', value: unquoteMariadb(raw.slice(1, -1)) }
  }
  // Unquoted: a number or an expression such as current_timestamp(6) or uuid().
  if (/^-?\d+(\.\d+)?(e[-+]?\d+)?$/i.test(raw)) return { kind: 'literal', value: raw }
  return { kind: 'expression', sql: raw }
}

function unquoteMariadb(s: string): string {
  return s.replace(/''/g, "'").replace(/\\(.)/g, (_m, c: string) => {
    switch (c) {
      case '0':
        return '\0'
      case 'n':
        return '\n'
      case 'r':
        return '\r'
      case 't':
        return '\t'
      case 'Z':
        return '\x1a'
      case 'b':
        return '\b'
      default:
        return c
    }
  })
}

function parseMysqlDefault(
  raw: string | null,
  extra: string,
  dataType: string,
  nullable: boolean,
): ColumnDefault {
  if (raw === null) return nullable ? { kind: 'null' } : { kind: 'none' }
  if (BIT_LITERAL_RE.test(raw)) return { kind: 'expression', sql: raw }
  if (/DEFAULT_GENERATED/i.test(extra)) {
    // MySQL 8.0.13+: expression defaults are reported without their outer parentheses.
    return EXPRESSION_RE.test(raw)
      ? { kind: 'expression', sql: raw }
      : { kind: 'expression', sql: `(${raw})` }
  }
  // MySQL 5.7 reports CURRENT_TIMESTAMP for temporal columns without DEFAULT_GENERATED.
  if (/^(timestamp|datetime)$/i.test(dataType) && EXPRESSION_RE.test(raw))
    return { kind: 'expression', sql: raw }
  return { kind: 'literal', value: raw }
}
