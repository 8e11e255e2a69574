/**
 * Collation names across MySQL and MariaDB: part of the flavor module (db/flavor.ts builds on it), kept
 * in its own file for size. A target gets the source's collation when it knows it; else an equivalent
 * that keeps comparison and sort order as far as the servers allow, with a note saying what differs; else
 * none at all (the table is refused rather than copied under a collation that could merge distinct keys).
 */

/** The server a collation name is rendered for. */
export interface CollationTarget {
  kind: 'mysql' | 'mariadb'
  atLeast(major: number, minor: number, patch: number): boolean
}

/** What the target gets for a source collation: `note` says why it was mapped and what differs. */
export type CollationChoice =
  | { name: string; mapped: false; note: null }
  | { name: string; mapped: true; note: string }
  | { name: null; mapped: true; note: string }

// MySQL 8's language codes in utf8mb4_<code>_0900_* and MariaDB's names in utf8mb4_uca1400_<name>_*
// (MySQL 8.0 manual 10.10.1 "Unicode Character Sets"; MariaDB "Supported Character Sets and Collations",
// the UCA-14.0.0 collations of 10.10). Languages only one server has are absent: those are refused.
const LANGUAGES: ReadonlyArray<readonly [mysql: string, mariadb: string]> = [
  ['cs', 'czech'],
  ['da', 'danish'],
  ['de_pb', 'german2'],
  ['eo', 'esperanto'],
  ['es', 'spanish'],
  ['es_trad', 'spanish2'],
  ['et', 'estonian'],
  ['hr', 'croatian'],
  ['hu', 'hungarian'],
  ['is', 'icelandic'],
  ['la', 'roman'],
  ['lt', 'lithuanian'],
  ['lv', 'latvian'],
  ['pl', 'polish'],
  ['ro', 'romanian'],
  ['sk', 'slovak'],
  ['sl', 'slovenian'],
  ['sv', 'swedish'],
  ['tr', 'turkish'],
  ['vi', 'vietnamese'],
]
const TO_MARIADB = new Map(LANGUAGES.map(([my, maria]) => [my, maria]))
const TO_MYSQL = new Map(LANGUAGES.map(([my, maria]) => [maria, my]))

// utf8mb4_0900_ai_ci, utf8mb4_sv_0900_as_cs, ... (MySQL 8.0+).
const MYSQL_0900 = /^utf8mb4_(?:([a-z_]+?)_)?0900_(ai_ci|as_ci|as_cs)$/
// utf8mb4_uca1400_ai_ci, utf8mb4_uca1400_swedish_nopad_as_cs, ... (MariaDB 10.10+).
const MARIADB_1400 = /^utf8mb4_uca1400_(?:(?!nopad_)([a-z0-9]+)_)?(nopad_)?(ai_ci|ai_cs|as_ci|as_cs)$/
// The utf8mb3 collations: utf8mb3_* on MariaDB 10.6+ and MySQL 8.0.30+, utf8_* before.
const UTF8MB3 = /^utf8(?:mb3)?_(.+)$/

const same = (name: string): CollationChoice => ({ name, mapped: false, note: null })
const mapped = (from: string, name: string, why: string): CollationChoice => ({
  name,
  mapped: true,
  note: `collation ${from} is not available on the target; ${name} is used instead (${why})`,
})
const refused = (from: string, why: string): CollationChoice => ({
  name: null,
  mapped: true,
  note: `collation ${from} has no equivalent on the target (${why})`,
})

/** The collation to create a column or table with on `target` for the source's `name`. */
export function collationFor(name: string, target: CollationTarget): CollationChoice {
  const lower = name.toLowerCase()
  const mb3 = UTF8MB3.exec(lower)
  if (mb3) {
    // MySQL reports utf8mb3_* only from 8.0.30 (release notes 8.0.30) and MariaDB from 10.6; both still
    // accept the older utf8_* spelling, so that one is used for older servers.
    const knowsMb3 = target.kind === 'mariadb' ? target.atLeast(10, 6, 0) : target.atLeast(8, 0, 30)
    const spelled = `${knowsMb3 ? 'utf8mb3' : 'utf8'}_${mb3[1]}`
    if (/uca1400/.test(lower) && target.kind === 'mysql')
      return refused(name, 'MySQL has no UCA 14.0.0 collations for utf8mb3')
    return same(spelled)
  }
  return target.kind === 'mariadb' ? forMariadb(lower, target) : forMysql(lower, target)
}

function forMariadb(name: string, target: CollationTarget): CollationChoice {
  if (name === 'utf8mb4_0900_bin') {
    return mapped(name, 'utf8mb4_nopad_bin', 'both compare by code point without padding')
  }
  const m = MYSQL_0900.exec(name)
  if (!m) return same(name)
  const [, lang, strength = 'ai_ci'] = m
  const language = lang === undefined ? '' : TO_MARIADB.get(lang)
  if (language === undefined) return refused(name, `MariaDB has no ${lang} tailoring`)
  if (!target.atLeast(10, 10, 0)) {
    if (language === '' && strength === 'ai_ci') {
      return mapped(
        name,
        'utf8mb4_unicode_520_nopad_ci',
        'UCA 5.2.0 instead of 9.0.0: characters added to Unicode after 5.2 sort and compare differently',
      )
    }
    return refused(name, 'MariaDB before 10.10 has no accent- or case-sensitive UCA collations')
  }
  // MariaDB 11.4.5 made utf8mb4_0900_ai_ci an alias of this very collation.
  const to = `utf8mb4_uca1400_${language ? `${language}_` : ''}nopad_${strength}`
  return mapped(
    name,
    to,
    'UCA 14.0.0 instead of 9.0.0, both NO PAD: only characters added to Unicode after 9.0 compare differently',
  )
}

function forMysql(name: string, target: CollationTarget): CollationChoice {
  const mysql8 = target.atLeast(8, 0, 0)
  if (name === 'utf8mb4_nopad_bin') {
    return target.atLeast(8, 0, 17)
      ? mapped(name, 'utf8mb4_0900_bin', 'both compare by code point without padding')
      : refused(name, 'MySQL before 8.0.17 has no NO PAD binary collation')
  }
  const m = MARIADB_1400.exec(name)
  if (!m) {
    if (/_nopad_/.test(name)) return refused(name, 'MySQL has no NO PAD variant of it')
    if (!mysql8 && MYSQL_0900.test(name)) {
      return /^utf8mb4_0900_ai_ci$/.test(name)
        ? mapped(
            name,
            'utf8mb4_unicode_520_ci',
            'UCA 5.2.0 with PAD SPACE: trailing spaces and characters added after Unicode 5.2 compare differently',
          )
        : refused(name, 'MySQL 5.7 has no UCA 9.0.0 collations')
    }
    return same(name)
  }
  const [, lang, nopad, strength = 'ai_ci'] = m
  const code = lang === undefined ? '' : TO_MYSQL.get(lang)
  if (code === undefined) return refused(name, `MySQL has no ${lang} tailoring`)
  if (!mysql8) return refused(name, 'MySQL 5.7 has no UCA 9.0.0 collations')
  if (strength === 'ai_cs')
    return refused(name, 'MySQL has no accent-insensitive, case-sensitive UCA collation')
  const to = `utf8mb4_${code ? `${code}_` : ''}0900_${strength}`
  return mapped(
    name,
    to,
    nopad
      ? 'UCA 9.0.0 instead of 14.0.0, both NO PAD: only characters added to Unicode after 9.0 compare differently'
      : 'UCA 9.0.0 NO PAD instead of 14.0.0 PAD SPACE: trailing spaces count in comparisons on the target',
  )
}

/**
 * True when a target column's `targetName` is what `collationFor` gives for the source's `sourceName`
 * (or the same collation): the schema diff then sees no change.
 */
export function sameCollation(sourceName: string, targetName: string, target: CollationTarget): boolean {
  if (sourceName.toLowerCase() === targetName.toLowerCase()) return true
  const choice = collationFor(sourceName, target)
  return choice.name !== null && choice.name === targetName.toLowerCase()
}
