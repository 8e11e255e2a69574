import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { loadPipeline } from '../../../src/config/load.js'
import { resolveTables } from '../../../src/config/select.js'
import { ConfigError } from '../../../src/errors.js'
import {
  chooseStrategy,
  escapeGlob,
  findModifierColumn,
  missedCursorWarning,
  pipelineName,
  renderInitPipeline,
  selectInitTables,
  yamlString,
} from '../../../src/plan/init-pipeline.js'
import type { ColumnDef, TableDef } from '../../../src/schema/table-def.js'

function col(name: string, dataType = 'int', extra: Partial<ColumnDef> = {}): ColumnDef {
  return {
    name,
    ordinal: 1,
    dataType,
    columnType: dataType,
    nullable: false,
    charset: null,
    collation: null,
    default: { kind: 'none' },
    onUpdate: '',
    autoIncrement: false,
    generated: null,
    comment: '',
    ...extra,
  }
}

function tableDef(
  name: string,
  columns: ColumnDef[],
  primaryKey: string[] = [],
  indexed: string[] = [],
): TableDef {
  return {
    name,
    columns,
    primaryKey,
    indexes: indexed.map((c) => ({
      name: `ix_${c}`,
      unique: false,
      kind: 'BTREE',
      columns: [{ name: c, subPart: null, descending: false }],
    })),
    engine: 'InnoDB',
    charset: 'utf8mb4',
    collation: 'utf8mb4_general_ci',
    comment: '',
    checks: [],
    autoIncrement: null,
    estimatedRows: 0,
    skippedIndexes: [],
  }
}

const ENV = {
  SOURCE_DATABASE_URL: 'mysql://reader:src-secret@db.example:3306/shop',
  TARGET_DATABASE_URL: 'mysql://loader:tgt-secret@replica.example:3306/shop',
}

const dirs: string[] = []
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})

async function load(text: string) {
  const dir = await mkdtemp(join(tmpdir(), 'dbsync-init-unit-'))
  dirs.push(dir)
  const file = join(dir, 'pipeline.yaml')
  await writeFile(file, text)
  return loadPipeline(file, { env: ENV })
}

describe('chooseStrategy', () => {
  it('makes a table with a primary key and updated_at incremental on updated_at', () => {
    const t = chooseStrategy(
      tableDef('orders', [col('id'), col('updated_at', 'timestamp')], ['id'], ['updated_at']),
    )
    expect(t).toEqual({
      name: 'orders',
      strategy: 'incremental',
      cursor: 'updated_at',
      primaryKey: ['id'],
      reason: 'primary key (id) and modifier column updated_at',
    })
  })

  it('reloads a table without a primary key whole, even with a modifier column', () => {
    const t = chooseStrategy(tableDef('log', [col('msg', 'text'), col('updated_at', 'datetime')]))
    expect(t.strategy).toBe('full_refresh')
    expect(t.cursor).toBeNull()
    expect(t.reason).toMatch(/^no primary key/)
  })

  it('reloads a table with a primary key but no modifier column whole', () => {
    const t = chooseStrategy(tableDef('countries', [col('code', 'char'), col('name', 'varchar')], ['code']))
    expect(t.strategy).toBe('full_refresh')
    expect(t.reason).toBe('primary key (code) but no modifier column such as updated_at')
  })

  it('takes the first candidate in name order', () => {
    const def = tableDef(
      't',
      [
        col('id'),
        col('created_at', 'datetime'),
        col('last_modified', 'datetime'),
        col('modified_at', 'datetime'),
      ],
      ['id'],
    )
    expect(findModifierColumn(def)?.name).toBe('modified_at')
  })

  it('falls back to created_at and says that updates are missed', () => {
    const t = chooseStrategy(
      tableDef('events', [col('id'), col('created_at', 'datetime')], ['id'], ['created_at']),
    )
    expect(t.strategy).toBe('incremental')
    expect(t.cursor).toBe('created_at')
    expect(t.reason).toContain('creation column created_at')
    expect(t.reason).toContain('updates to existing rows are not picked up')
  })

  it('prefers a TIMESTAMP/DATETIME candidate over an earlier one of another type', () => {
    const def = tableDef('t', [col('id'), col('updated', 'tinyint'), col('changed_at', 'timestamp')], ['id'])
    expect(findModifierColumn(def)?.name).toBe('changed_at')
  })

  it('accepts a DATE or integer candidate when no temporal one exists, but never a text one', () => {
    expect(findModifierColumn(tableDef('t', [col('id'), col('updated_on', 'date')], ['id']))?.name).toBe(
      'updated_on',
    )
    const text = chooseStrategy(tableDef('t', [col('id'), col('updated_at', 'varchar')], ['id']))
    expect(text.strategy).toBe('full_refresh')
    expect(text.reason).toContain('updated_at is varchar, not a date or time')
  })

  it('matches candidate names case-insensitively and keeps the real spelling', () => {
    const t = chooseStrategy(
      tableDef('t', [col('ID'), col('Updated_At', 'datetime')], ['ID'], ['Updated_At']),
    )
    expect(t.cursor).toBe('Updated_At')
  })

  it('notes a nullable or unindexed cursor', () => {
    const t = chooseStrategy(
      tableDef('t', [col('id'), col('updated_at', 'datetime', { nullable: true })], ['id']),
    )
    expect(t.reason).toContain('rows with NULL updated_at are re-read on every run')
    expect(t.reason).toContain('no index on updated_at')
  })
})

describe('findModifierColumn on real schemas', () => {
  const zero = { default: { kind: 'literal', value: '0000-00-00 00:00:00' } } as const
  it('prefers the column the server stamps on update, whatever its name', () => {
    const t = tableDef(
      'payment',
      [
        col('id'),
        col('updated_at', 'datetime'),
        col('stamp', 'timestamp', { onUpdate: 'on update current_timestamp()' }),
      ],
      ['id'],
    )
    expect(findModifierColumn(t)?.name).toBe('stamp')
    expect(chooseStrategy(t).reason).toContain('the server stamps it on every update')
  })

  it("knows sakila's last_update and WordPress's post_modified, preferring the _gmt twin", () => {
    expect(findModifierColumn(tableDef('actor', [col('id'), col('last_update', 'timestamp')]))?.name).toBe(
      'last_update',
    )
    const posts = tableDef('wp_posts', [
      col('ID'),
      col('post_date', 'datetime', zero),
      col('post_modified', 'datetime', zero),
      col('post_modified_gmt', 'datetime', zero),
    ])
    expect(findModifierColumn(posts)?.name).toBe('post_modified_gmt')
    expect(findModifierColumn(tableDef('t', [col('id'), col('date_modified', 'datetime')]))?.name).toBe(
      'date_modified',
    )
  })

  it('avoids a zero-date default when another candidate has none, and says why when none is left', () => {
    const both = tableDef(
      't',
      [col('id'), col('updated_at', 'datetime', zero), col('modified', 'datetime')],
      ['id'],
    )
    expect(findModifierColumn(both)?.name).toBe('modified')
    const only = tableDef('t', [col('id'), col('post_modified', 'datetime', zero)], ['id'])
    expect(chooseStrategy(only).reason).toContain('defaults to a zero date')
  })
})

describe('missedCursorWarning', () => {
  const t = tableDef('actor', [col('id'), col('last_update', 'timestamp')], ['id'])
  it('warns when a table became a full refresh only because its entry names no cursor', () => {
    const inferred = { name: 'actor', strategy: 'full_refresh', strategyInferred: true, cursor: [] } as const
    expect(missedCursorWarning(inferred, t)).toContain('last_update looks like a modifier column')
  })
  it('stays quiet for an explicit full_refresh and for a table without an obvious modifier', () => {
    expect(missedCursorWarning({ name: 'actor', strategy: 'full_refresh', cursor: [] }, t)).toBeNull()
    const plain = tableDef('x', [col('id'), col('name', 'varchar')], ['id'])
    expect(
      missedCursorWarning({ name: 'x', strategy: 'full_refresh', strategyInferred: true, cursor: [] }, plain),
    ).toBeNull()
  })
})

describe('selectInitTables', () => {
  const defs = ['orders', 'customers', 'audit_log'].map((n) => tableDef(n, [col('id')], ['id']))

  it('lists every table in name order', () => {
    expect(selectInitTables(defs).map((t) => t.name)).toEqual(['audit_log', 'customers', 'orders'])
  })

  it('keeps only the --tables names and globs', () => {
    expect(selectInitTables(defs, ['orders', 'audit_*']).map((t) => t.name)).toEqual(['audit_log', 'orders'])
  })

  it('rejects a --tables entry that matches nothing, suggesting a close name', () => {
    let err: unknown
    try {
      selectInitTables(defs, ['ordrs'])
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(ConfigError)
    expect((err as ConfigError).message).toContain('"ordrs"')
    expect((err as ConfigError).hint).toBe('did you mean "orders"?')
  })
})

describe('pipelineName', () => {
  it('keeps a plain database name', () => {
    expect(pipelineName('shop_prod-1')).toBe('shop_prod-1')
  })
  it('replaces other characters and never returns an empty name', () => {
    expect(pipelineName('my shop.db')).toBe('my_shop_db')
    expect(pipelineName('ünï')).toBe('n')
    expect(pipelineName('日本')).toBe('pipeline')
    expect(pipelineName('x'.repeat(80))).toHaveLength(64)
  })
})

describe('yamlString and escapeGlob', () => {
  it('leaves plain names plain and quotes the rest', () => {
    expect(yamlString('orders')).toBe('orders')
    expect(yamlString('true')).toBe('"true"')
    expect(yamlString('123')).toBe('"123"')
    expect(yamlString('order items')).toBe('"order items"')
    expect(yamlString('a: b # c')).toBe('"a: b # c"')
  })
  it('turns glob characters into one-character classes', () => {
    expect(escapeGlob('a*b?c[d]')).toBe('a[*]b[?]c[[]d]')
  })
})

describe('renderInitPipeline', () => {
  const defs = [
    tableDef('orders', [col('id'), col('updated_at', 'timestamp')], ['id'], ['updated_at']),
    tableDef('countries', [col('code', 'char')], ['code']),
    tableDef('log', [col('msg', 'text')]),
    tableDef('events', [col('id'), col('created_at', 'datetime')], ['id'], ['created_at']),
  ]
  const tables = defs.map(chooseStrategy)

  function render(t = tables, database = 'shop') {
    return renderInitPipeline({
      database,
      schemaRef: 'node_modules/dbsync/schema/pipeline.schema.json',
      fileName: 'pipeline.yaml',
      tables: t,
    })
  }

  it('starts with the schema line and names the URLs only as variables', () => {
    const text = render()
    expect(text.split('\n')[0]).toBe(
      '# yaml-language-server: $schema=node_modules/dbsync/schema/pipeline.schema.json',
    )
    expect(text).toContain(`url: \${SOURCE_DATABASE_URL}`)
    expect(text).toContain(`url: \${TARGET_DATABASE_URL}`)
    const urls = text.split('\n').filter((l) => /^\s*url:/.test(l))
    expect(urls.map((l) => l.replace(/\s+#.*$/, ''))).toEqual([
      `  url: \${SOURCE_DATABASE_URL}`,
      `  url: \${TARGET_DATABASE_URL}`,
    ])
  })

  it('writes one entry per table with the reason as a comment', () => {
    const text = render()
    expect(text).toContain('  # primary key (id) and modifier column updated_at\n  - name: orders\n')
    expect(text).toContain('  # no primary key\n  - name: log\n    strategy: full_refresh\n')
    expect(parse(text).tables).toEqual([
      { name: 'orders', strategy: 'incremental', cursor: 'updated_at' },
      { name: 'countries', strategy: 'full_refresh' },
      { name: 'log', strategy: 'full_refresh' },
      { name: 'events', strategy: 'incremental', cursor: 'created_at' },
    ])
  })

  it('writes a file that loadPipeline accepts, with the strategies chosen', async () => {
    const pipeline = await load(render(tables, 'shop prod'))
    expect(pipeline.name).toBe('shop_prod')
    const {
      tables: resolved,
      unmatched,
      shadowed,
    } = resolveTables(
      pipeline,
      defs.map((d) => d.name),
    )
    expect(unmatched).toEqual([])
    expect(shadowed).toEqual([])
    expect(Object.fromEntries(resolved.map((t) => [t.name, [t.strategy, t.cursor]]))).toEqual({
      orders: ['incremental', ['updated_at']],
      countries: ['full_refresh', []],
      log: ['full_refresh', []],
      events: ['incremental', ['created_at']],
    })
  })

  it('quotes names YAML would misread and still selects exactly those tables', async () => {
    const odd = ['true', '2024', 'a b', 'x: y', 'we*rd', 'null', 'line\nbreak'].map((n) =>
      chooseStrategy(tableDef(n, [col('id'), col('updated_at', 'datetime')], ['id'], ['updated_at'])),
    )
    const names = odd.map((t) => t.name)
    const pipeline = await load(render(odd))
    const { tables: resolved } = resolveTables(pipeline, [...names, 'weXrd', 'we_rd'])
    expect(resolved.map((t) => t.name).sort()).toEqual([...names].sort())
  })
})

describe('cursors that can hold zero dates (issue 12)', () => {
  const zero = { kind: 'literal', value: '0000-00-00 00:00:00' } as const
  it('prefers a modifier column without a zero-date default', () => {
    const def = tableDef(
      't',
      [col('id'), col('updated_at', 'datetime', { default: zero }), col('modified_at', 'datetime')],
      ['id'],
    )
    expect(findModifierColumn(def)?.name).toBe('modified_at')
  })
  it('says why when the only modifier column defaults to a zero date', () => {
    const def = tableDef('t', [col('id'), col('updated_at', 'datetime', { default: zero })], ['id'])
    const t = chooseStrategy(def)
    expect(t.cursor).toBe('updated_at')
    expect(t.reason).toMatch(/defaults to a zero date: such rows are re-read on every run/)
  })
})
