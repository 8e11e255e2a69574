import { describe, expect, it } from 'vitest'
import { detectFlavor } from '../../../src/db/flavor.js'
import {
  chunkConcatSql,
  chunkHashSql,
  columnImage,
  concatFits,
  deleteKeysSql,
  keyAtSql,
  keysAfter,
  keysAtMost,
  keysPresentSql,
  keyTerms,
  rangeWhere,
  rowDigest,
  rowImagesSql,
  splitHash,
} from '../../../src/validate/checksum-sql.js'
import { col } from '../schema/helpers.js'

const mariadb = detectFlavor('10.11.6-MariaDB')
const mysql57 = detectFlavor('5.7.44')
const b = (s: string) => Buffer.from(s, 'utf8')

describe('columnImage', () => {
  it('leaves numbers bare (CONCAT_WS prints their exact text), FLOAT widened to DOUBLE first', () => {
    expect(columnImage(col('n', 'decimal(65,30)'))).toBe('`n`')
    expect(columnImage(col('n', 'bigint(20) unsigned'))).toBe('`n`')
    expect(columnImage(col('n', 'double'))).toBe('`n`')
    expect(columnImage(col('n', 'year(4)'))).toBe('`n`')
    expect(columnImage(col('f', 'float'))).toBe('(`f` * 1e0)')
  })

  it('leaves temporal values bare (their text), hexes BIT and short strings, digests the rest', () => {
    expect(columnImage(col('d', 'datetime(6)'))).toBe('`d`')
    expect(columnImage(col('t', 'time(6)'))).toBe('`t`')
    expect(columnImage(col('b', 'bit(64)'))).toBe('HEX(`b`)')
    // At most 20 bytes (no longer than a SHA1 image): utf8mb4 counts 4 bytes a character.
    expect(columnImage(col('s', 'varchar(5)'))).toBe('HEX(`s`)')
    expect(columnImage(col('s', 'varbinary(20)'))).toBe('HEX(`s`)')
    expect(columnImage(col('s', 'char(20)', { charset: 'latin1' }))).toBe('HEX(`s`)')
    expect(columnImage(col('s', "enum('a','bcdef')", { charset: 'ucs2' }))).toBe('HEX(`s`)')
    // ENUM and SET labels count their UTF-8 bytes: 'cancelled' is 9, 'ü' 2; a SET its labels and commas.
    expect(columnImage(col('s', "enum('new','cancelled','ümlaut')"))).toBe('HEX(`s`)')
    expect(columnImage(col('s', "enum('a','ü12345678901234567890')"))).toBe('SHA1(`s`)')
    expect(columnImage(col('s', "set('a','b')"))).toBe('HEX(`s`)')
    expect(columnImage(col('s', "set('abcdefghi','jklmnopqrs')"))).toBe('HEX(`s`)')
    expect(columnImage(col('s', "set('abcdefghi','jklmnopqrst')"))).toBe('SHA1(`s`)')
    expect(columnImage(col('s', 'varchar(6)'))).toBe('SHA1(`s`)')
    expect(columnImage(col('s', 'varbinary(21)'))).toBe('SHA1(`s`)')
    expect(columnImage(col('s', "enum('a','bcdefghijkl')", { charset: 'ucs2' }))).toBe('SHA1(`s`)')
    expect(columnImage(col('s', 'tinytext'))).toBe('SHA1(`s`)')
    expect(columnImage(col('s', 'longblob'))).toBe('SHA1(`s`)')
    expect(columnImage(col('j', 'json', { charset: null }))).toBe('SHA1(`j`)')
    expect(columnImage(col('p', 'point'))).toBe('SHA1(`p`)')
  })

  it('quotes awkward column names', () => {
    expect(columnImage(col('we`ird', 'int'))).toBe('`we``ird`')
  })
})

describe('rowDigest and chunkHashSql', () => {
  const cols = [col('id', 'int'), col('name', 'varchar(10)', { nullable: true })]

  it("joins the images, a nullable column's NULL as 'N', so NULL and empty differ", () => {
    expect(rowDigest(cols)).toBe("SHA1(CONCAT_WS('#', `id`, COALESCE(SHA1(`name`), 'N')))")
  })

  it('counts and sums 64 digest bits per row over the range, 2^128 for a row without a digest', () => {
    const text = chunkHashSql('t', cols, ['`id` > 5', '`id` <= 9'], null)
    expect(text).toBe(
      `SELECT COUNT(*), COALESCE(SUM(COALESCE(CAST(CONV(SUBSTRING(${rowDigest(cols)}, 1, 16), 16, 10) AS UNSIGNED), ` +
        '340282366920938463463374607431768211456)), 0) FROM `t` WHERE `id` > 5 AND `id` <= 9',
    )
  })

  it('splits a chunk sum into the digest sum and the rows without a digest', () => {
    const max64 = 2n ** 64n - 1n
    expect(splitHash(max64 * 3n)).toEqual({ sum: max64 * 3n, unhashed: 0n })
    expect(splitHash(2n * 2n ** 128n + max64)).toEqual({ sum: max64, unhashed: 2n })
  })

  it('hashes a range as SHA1 of its rows joined as bytes, the images as in rowDigest', () => {
    expect(chunkConcatSql('t', cols, ['`id` > 5'], null)).toBe(
      "SELECT COUNT(*), SHA1(GROUP_CONCAT(CONCAT_WS(_binary'#', `id`, COALESCE(SHA1(`name`), 'N')) SEPARATOR '/')) " +
        'FROM `t` FORCE INDEX (PRIMARY) WHERE `id` > 5',
    )
    expect(chunkConcatSql('t', cols, [], '(`u` > 1)')).toMatch(
      /\)\), COALESCE\(SUM\(\(`u` > 1\)\), 0\) FROM `t` FORCE INDEX \(PRIMARY\)$/,
    )
  })

  it('joins rows only where a chunk surely fits group_concat_max_len', () => {
    expect(concatFits(cols, 10_000)).toBe(true)
    expect(
      concatFits(
        Array.from({ length: 100 }, (_v, i) => col(`c${i}`, 'int')),
        10_000,
      ),
    ).toBe(false)
    expect(
      concatFits(
        Array.from({ length: 100 }, (_v, i) => col(`c${i}`, 'int')),
        1000,
      ),
    ).toBe(true)
  })

  it('adds the pending count on the source', () => {
    const text = chunkHashSql('t', cols, [], '(`u` IS NOT NULL AND `u` > 1)')
    expect(text).toMatch(/, COALESCE\(SUM\(\(`u` IS NOT NULL AND `u` > 1\)\), 0\) FROM `t`$/)
  })
})

describe('key ranges', () => {
  const single = keyTerms([col('id', 'bigint(20) unsigned')], mariadb)
  const composite = keyTerms([col('id', 'bigint(20)'), col('k2', 'varchar(20)')], mariadb)

  it('reads text keys as bytes and writes them back with their character set', () => {
    expect(composite[1]!.select).toBe('CAST(`k2` AS BINARY)')
    expect(composite[1]!.literal(b('a'))).toBe("_utf8mb4 X'61'")
  })

  it('spells the character set as each server knows it', () => {
    const c = col('k', 'varchar(5)', { charset: 'utf8mb3' })
    expect(keyTerms([c], mysql57)[0]!.literal(b('a'))).toBe("_utf8 X'61'")
    expect(keyTerms([c], mariadb)[0]!.literal(b('a'))).toBe("_utf8mb3 X'61'")
  })

  it('spells out tuple comparisons', () => {
    expect(keysAfter(single, [b('42')])).toBe('`id` > 42')
    expect(keysAtMost(single, [b('42')])).toBe('`id` <= 42')
    expect(keysAfter(composite, [b('3'), b('c')])).toBe("(`id` > 3 OR (`id` = 3 AND `k2` > _utf8mb4 X'63'))")
    expect(keysAtMost(composite, [b('3'), b('c')])).toBe(
      "(`id` < 3 OR (`id` = 3 AND `k2` <= _utf8mb4 X'63'))",
    )
  })

  it('leaves open ends out of a range', () => {
    expect(rangeWhere(single, { lo: null, hi: null })).toEqual([])
    expect(rangeWhere(single, { lo: [b('1')], hi: null })).toEqual(['`id` > 1'])
    expect(rangeWhere(single, { lo: null, hi: [b('9')] })).toEqual(['`id` <= 9'])
    expect(rangeWhere(single, { lo: [b('1')], hi: [b('9')] })).toEqual(['`id` > 1', '`id` <= 9'])
  })

  it('refuses a non-numeric value for a numeric key instead of writing it into SQL', () => {
    expect(() => keysAfter(single, [b('1 OR 1=1')])).toThrow(/unexpected numeric value/)
  })

  it('finds a boundary by offset, reading only the key', () => {
    expect(keyAtSql('t', composite, ['`id` > 1'], 9999)).toBe(
      'SELECT `id`, CAST(`k2` AS BINARY) FROM `t` WHERE `id` > 1 ORDER BY `id`, `k2` LIMIT 1 OFFSET 9999',
    )
    expect(keyAtSql('t', single, [], 0)).toBe('SELECT `id` FROM `t` ORDER BY `id` LIMIT 1 OFFSET 0')
  })
})

describe('row level and deletes', () => {
  const keys = keyTerms([col('id', 'int')], mariadb)
  const composite = keyTerms([col('a', 'int'), col('b', 'int')], mariadb)
  const cols = [col('id', 'int'), col('v', 'varchar(5)')]

  it('selects key, images and the pending flag of a small range', () => {
    expect(rowImagesSql('t', keys, cols, ['`id` > 1'], '`u` > 5', null)).toBe(
      'SELECT `id`, `id`, HEX(`v`), COALESCE(`u` > 5, 0) FROM `t` WHERE `id` > 1 ORDER BY `id`',
    )
    expect(rowImagesSql('t', keys, cols, [], null, 1000)).toBe(
      'SELECT `id`, `id`, HEX(`v`) FROM `t` ORDER BY `id` LIMIT 1000',
    )
  })

  it('deletes by IN for one key column and by OR of ANDs for a composite key', () => {
    expect(deleteKeysSql('t', keys, [[b('1')], [b('2')]])).toBe('DELETE FROM `t` WHERE `id` IN (1, 2)')
    expect(
      deleteKeysSql('t', composite, [
        [b('1'), b('2')],
        [b('3'), b('4')],
      ]),
    ).toBe('DELETE FROM `t` WHERE (`a` = 1 AND `b` = 2) OR (`a` = 3 AND `b` = 4)')
    expect(keysPresentSql('t', keys, [[b('7')]])).toBe('SELECT `id` FROM `t` WHERE `id` IN (7)')
  })
})
