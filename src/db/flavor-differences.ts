/**
 * Every MySQL/MariaDB difference dbsync handles, one row each, with where the claim comes from. README's
 * "Compatibility" table is rendered from this list (`npm run compat-table`; a unit test checks README is
 * in sync), and test/unit/db/flavor.test.ts holds one test per row, pinning what dbsync generates.
 * The code for each row is in db/flavor.ts (or flavor-collation.ts, rsa-key.ts) unless `where` says else.
 */
export interface FlavorDifference {
  id: string
  topic: string
  mysql: string
  mariadb: string
  /** What dbsync does about it. */
  dbsync: string
  /** Manual sections (or release notes) the two server columns come from. */
  sources: string[]
  /**
   * What has run against a real server: MariaDB 10.11 runs here (integration tests); MySQL 5.7/8.0/8.4
   * runs only in the CI matrix (examples/ci), so MySQL behaviour is "by documentation, not yet run".
   */
  proven: string
}

const MARIADB_ONLY = 'run on MariaDB 10.11; MySQL by documentation, not yet run'
const DOC_ONLY = 'unit test of the generated SQL; both by documentation, not yet run'

export const FLAVOR_DIFFERENCES: readonly FlavorDifference[] = [
  {
    id: 'upsert-row-alias',
    topic: 'Upsert syntax',
    mysql: '8.0.19+: `INSERT … AS _new ON DUPLICATE KEY UPDATE c = _new.c`; `VALUES()` deprecated in 8.0.20',
    mariadb: 'only `VALUES(c)`',
    dbsync: 'row alias on MySQL ≥ 8.0.19, `VALUES()` elsewhere',
    sources: [
      'https://dev.mysql.com/doc/refman/8.0/en/insert-on-duplicate.html',
      'https://mariadb.com/kb/en/insert-on-duplicate-key-update/',
    ],
    proven: MARIADB_ONLY,
  },
  {
    id: 'utf8mb3-naming',
    topic: '`utf8mb3` / `utf8` naming',
    mysql:
      'reports `utf8mb3` and `utf8mb3_*` collations from 8.0.30, `utf8`/`utf8_*` before; accepts `utf8mb3` as a character-set alias since 5.5.3',
    mariadb: 'reports `utf8mb3`/`utf8mb3_*` from 10.6, `utf8`/`utf8_*` before',
    dbsync: 'compares both spellings as one; writes the spelling the target knows',
    sources: [
      'https://dev.mysql.com/doc/relnotes/mysql/8.0/en/news-8-0-30.html',
      'https://dev.mysql.com/doc/refman/8.0/en/charset-unicode-utf8mb3.html',
      'https://mariadb.com/kb/en/unicode/',
    ],
    proven: MARIADB_ONLY,
  },
  {
    id: 'collation-0900',
    topic: 'UCA 9.0.0 collations (`utf8mb4_0900_ai_ci`, MySQL 8 default)',
    mysql: '`utf8mb4_[lang_]0900_ai_ci/as_ci/as_cs`, `utf8mb4_0900_bin`, all NO PAD; none on 5.7',
    mariadb:
      'unknown before 11.4.5 (then an alias of `utf8mb4_uca1400_nopad_ai_ci`); UCA 14.0.0 collations from 10.10',
    dbsync:
      'MariaDB 10.10+ target: `utf8mb4_uca1400_[lang_]nopad_*` (same strength, NO PAD), `0900_bin` → `nopad_bin`; older MariaDB and MySQL 5.7: `0900_ai_ci` → UCA 5.2.0, others refused; `plan` warns per column',
    sources: [
      'https://dev.mysql.com/doc/refman/8.0/en/charset-unicode-sets.html',
      'https://mariadb.com/kb/en/mariadb-11-4-5-release-notes/',
      'https://mariadb.com/kb/en/supported-character-sets-and-collations/',
    ],
    proven:
      'DDL for a MySQL 8 definition run on MariaDB 10.11 (cross-flavor.test.ts); MySQL by documentation, not yet run',
  },
  {
    id: 'collation-uca1400',
    topic: 'MariaDB-only collations (`utf8mb4_uca1400_*`, `*_nopad_*`)',
    mysql: 'no UCA 14.0.0 and no NO PAD variants except the UCA 9.0.0 ones and `utf8mb4_0900_bin` (8.0.17+)',
    mariadb: '`utf8mb4_uca1400_[lang_][nopad_]ai_ci/ai_cs/as_ci/as_cs` (10.10+), `*_nopad_*`',
    dbsync:
      'MySQL 8 target: `utf8mb4_[lang_]0900_*` (PAD SPACE becomes NO PAD: trailing spaces count), `nopad_bin` → `0900_bin`; `ai_cs` and other NO PAD collations refused',
    sources: [
      'https://mariadb.com/kb/en/supported-character-sets-and-collations/',
      'https://dev.mysql.com/doc/refman/8.0/en/charset-collation-names.html',
    ],
    proven: 'unit test of the mapping; MySQL by documentation, not yet run',
  },
  {
    id: 'table-charset',
    topic: 'information_schema: a table collation’s character set',
    mysql: '`COLLATIONS` lists every collation with its character set',
    mariadb:
      '10.10+ lists UCA 14.0.0 collations without one (full names only in `COLLATION_CHARACTER_SET_APPLICABILITY`)',
    dbsync: 'takes the character set from the collation name’s prefix when the join finds none',
    sources: [
      'https://mariadb.com/kb/en/information-schema-collations-table/',
      'https://dev.mysql.com/doc/refman/8.0/en/information-schema-collations-table.html',
    ],
    proven: MARIADB_ONLY,
  },
  {
    id: 'column-defaults',
    topic: 'Column defaults in information_schema.COLUMNS',
    mysql:
      'literals unquoted, no default = SQL NULL, expressions marked `DEFAULT_GENERATED` in EXTRA (8.0.13+)',
    mariadb: '10.2.7+: literals quoted, `NULL` as the text NULL, expressions unquoted',
    dbsync: 'one parser per flavor (`parseDefault`)',
    sources: [
      'https://dev.mysql.com/doc/refman/8.0/en/information-schema-columns-table.html',
      'https://mariadb.com/kb/en/information-schema-columns-table/',
    ],
    proven: MARIADB_ONLY,
  },
  {
    id: 'expression-defaults',
    topic: 'Expression defaults',
    mysql: '8.0.13+: `DEFAULT (expr)` in parentheses; only CURRENT_TIMESTAMP for temporal columns before',
    mariadb: '10.2+: any expression, no parentheses needed',
    dbsync: 'MySQL expressions are re-wrapped in parentheses; CURRENT_TIMESTAMP kept bare',
    sources: [
      'https://dev.mysql.com/doc/refman/8.0/en/data-type-defaults.html',
      'https://mariadb.com/kb/en/create-table/#default-column-option',
    ],
    proven: MARIADB_ONLY,
  },
  {
    id: 'json',
    topic: 'JSON',
    mysql: 'a binary type; read back as normalized text',
    mariadb: 'an alias of LONGTEXT with a `json_valid()` CHECK; the text is kept as written',
    dbsync:
      'copies the text the source returns (MySQL’s normalized form), compares it with SHA1 of that text in `validate --data`; `plan` warns when MySQL JSON lands on MariaDB',
    sources: [
      'https://dev.mysql.com/doc/refman/8.0/en/json.html',
      'https://mariadb.com/kb/en/json-data-type/',
    ],
    proven: MARIADB_ONLY,
  },
  {
    id: 'invisible-columns',
    topic: 'Invisible columns and generated invisible primary keys',
    mysql: '`INVISIBLE` from 8.0.23; GIPK `my_row_id` (8.0.30+, `sql_generate_invisible_primary_key`)',
    mariadb: '`INVISIBLE` from 10.3.3',
    dbsync:
      'reads INVISIBLE from EXTRA and keeps it where the target supports it (a GIPK is copied as an invisible primary key); always names columns, never `SELECT *`',
    sources: [
      'https://dev.mysql.com/doc/refman/8.0/en/invisible-columns.html',
      'https://dev.mysql.com/doc/refman/8.0/en/create-table-gipks.html',
      'https://mariadb.com/kb/en/invisible-columns/',
    ],
    proven: MARIADB_ONLY,
  },
  {
    id: 'functional-indexes',
    topic: 'Functional key parts',
    mysql: '8.0.13+: `STATISTICS.EXPRESSION`, `COLUMN_NAME` NULL',
    mariadb: 'none (no EXPRESSION column)',
    dbsync: 'reads EXPRESSION only on MySQL ≥ 8.0.13; such indexes are not copied and `plan` names them',
    sources: [
      'https://dev.mysql.com/doc/refman/8.0/en/create-index.html#create-index-functional-key-parts',
      'https://dev.mysql.com/doc/refman/8.0/en/information-schema-statistics-table.html',
    ],
    proven: DOC_ONLY,
  },
  {
    id: 'descending-indexes',
    topic: 'Descending indexes',
    mysql: '8.0+ stores `DESC` key parts (`STATISTICS.COLLATION` = D); 5.7 parses and ignores DESC',
    mariadb: '10.8+ stores them; older versions ignore DESC',
    dbsync: 'copies DESC where the source reports D',
    sources: [
      'https://dev.mysql.com/doc/refman/8.0/en/descending-indexes.html',
      'https://mariadb.com/kb/en/descending-indexes/',
    ],
    proven: MARIADB_ONLY,
  },
  {
    id: 'generated-columns',
    topic: 'Generated columns',
    mysql: '`STORED`/`VIRTUAL`, `NOT NULL` allowed after the expression',
    mariadb: '`PERSISTENT` = `STORED`; `NOT NULL` refused',
    dbsync: 'reads both spellings from EXTRA; writes `NOT NULL` only for MySQL targets',
    sources: [
      'https://dev.mysql.com/doc/refman/8.0/en/create-table-generated-columns.html',
      'https://mariadb.com/kb/en/generated-columns/',
    ],
    proven: MARIADB_ONLY,
  },
  {
    id: 'check-constraints',
    topic: 'CHECK constraints',
    mysql:
      'enforced from 8.0.16 (parsed and ignored before), names unique per schema, `NOT ENFORCED` possible',
    mariadb:
      'enforced from 10.2.1, names unique per table; JSON columns carry an implicit `json_valid()` check',
    dbsync:
      'copied from 8.0.16 / 10.2.22 on: named on MariaDB, left for MySQL to name (a staging table beside the live one could not reuse them), `NOT ENFORCED` kept on MySQL',
    sources: [
      'https://dev.mysql.com/doc/refman/8.0/en/create-table-check-constraints.html',
      'https://mariadb.com/kb/en/constraint/',
    ],
    proven: MARIADB_ONLY,
  },
  {
    id: 'caching-sha2',
    topic: '`caching_sha2_password` (MySQL 8 default) and `sha256_password` without TLS',
    mysql:
      'the password goes RSA-encrypted with the server’s public key; clients fetch it only when asked (`--get-server-public-key`)',
    mariadb: 'no such plugin (mysql_native_password, ed25519)',
    dbsync:
      'never fetches the key unasked: `server-public-key-path=` or `get-server-public-key=true` in the URL, else exit 3 saying so; over TLS the password goes in the clear as the protocol wants',
    sources: [
      'https://dev.mysql.com/doc/refman/8.0/en/caching-sha2-pluggable-authentication.html',
      'https://dev.mysql.com/doc/refman/8.0/en/sha256-pluggable-authentication.html',
      'https://unpkg.com/mysql2@3.22.2/lib/auth_plugins/caching_sha2_password.md',
    ],
    proven: 'unit test of the handshake step; MySQL by documentation, not yet run',
  },
  {
    id: 'local-infile',
    topic: '`local_infile`',
    mysql: 'OFF by default from 8.0',
    mariadb: 'ON by default',
    dbsync:
      'tries `LOAD DATA LOCAL` once per table and falls back to multi-row INSERT (the default path on MySQL 8; about 1.2× the LOAD DATA path’s time in the bench’s `insert-path` shape, 2.4× before rows were encoded as they arrive)',
    sources: [
      'https://dev.mysql.com/doc/refman/8.0/en/load-data-local-security.html',
      'https://mariadb.com/kb/en/server-system-variables/#local_infile',
    ],
    proven:
      'both paths run on MariaDB 10.11 (load-data-refused.test.ts); MySQL by documentation, not yet run',
  },
  {
    id: 'no-cte-window',
    topic: 'CTEs and window functions',
    mysql: 'from 8.0 only; MySQL 5.7 has neither',
    mariadb: 'from 10.2',
    dbsync: 'generates neither (a test scans the generated SQL and the sources)',
    sources: [
      'https://dev.mysql.com/doc/refman/8.0/en/with.html',
      'https://dev.mysql.com/doc/refman/8.0/en/window-functions.html',
    ],
    proven: DOC_ONLY,
  },
  {
    id: 'group-concat-max-len',
    topic: '`GROUP_CONCAT` length (the `validate --data` chunk hash)',
    mysql: '`group_concat_max_len` 1024 bytes by default; longer results cut with a warning',
    mariadb: '`group_concat_max_len` 1 MiB by default (max 4 GiB); longer results cut with a warning',
    dbsync:
      'sets 32 MiB per comparison session on both (src/validate/read-pair.ts), joins rows only where a chunk surely fits, and hashes a range as sums when its query warns',
    sources: [
      'https://dev.mysql.com/doc/refman/8.0/en/aggregate-functions.html#function_group-concat',
      'https://mariadb.com/kb/en/server-system-variables/#group_concat_max_len',
    ],
    proven: MARIADB_ONLY,
  },
  {
    id: 'version-string',
    topic: 'Telling the servers apart',
    mysql: '`VERSION()` = 8.0.36, 5.7.44-log, …',
    mariadb: '`10.11.6-MariaDB…`; `5.5.5-10.x` on old replication setups; `@@version_comment` names MariaDB',
    dbsync: 'flavor from VERSION() and @@version_comment, the 5.5.5- prefix skipped',
    sources: [
      'https://mariadb.com/kb/en/version/',
      'https://dev.mysql.com/doc/refman/8.0/en/information-functions.html#function_version',
    ],
    proven: MARIADB_ONLY,
  },
]

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ')

/** The Markdown table README's Compatibility section holds, between its markers. */
export function renderCompatibilityTable(rows: readonly FlavorDifference[] = FLAVOR_DIFFERENCES): string {
  const lines = [
    '| Difference | MySQL | MariaDB | dbsync | Proven | Sources |',
    '|---|---|---|---|---|---|',
    ...rows.map((r) =>
      [r.topic, r.mysql, r.mariadb, r.dbsync, r.proven, r.sources.map((u, i) => `[${i + 1}](${u})`).join(' ')]
        .map(cell)
        .join(' | ')
        .replace(/^/, '| ')
        .concat(' |'),
    ),
  ]
  return lines.join('\n')
}

export const COMPAT_START = '<!-- compatibility-table:start (generated from src/db/flavor-differences.ts) -->'
export const COMPAT_END = '<!-- compatibility-table:end -->'
