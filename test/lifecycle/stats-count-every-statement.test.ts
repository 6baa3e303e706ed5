// stats().databases[name].queries counts statements, wherever they run: each tx.query() inside
// transaction() and each statement of batch(), not one per transaction or batch (or none).
import { afterAll, describe, expect, it } from 'vitest'
import { Registry } from '@lazydb/core'
import '@lazydb/core/libsql'
import { tempDir } from '../support/tmp.js'
import { within } from './support.js'

const tmp = tempDir('lazydb-stats-')
afterAll(() => tmp.remove())

describe('stats().queries', () => {
  const registry = new Registry({ database: `file:${tmp.file('stats.db')}`, platform: 'node', warn: false })
  const db = registry.database
  const queries = () => registry.stats().databases.default!.queries
  afterAll(() => registry.disconnect({ force: true }))

  it('counts each statement run inside transaction()', async () => {
    await within(db.query('create table if not exists counted (id integer primary key, label text)'), 5000)
    const before = queries()
    await within(
      db.transaction(async (tx) => {
        await tx.query('insert into counted (label) values (?)', ['a'])
        await tx.query('insert into counted (label) values (?)', ['b'])
      }),
      5000,
    )
    expect(queries() - before, 'two tx.query() calls').toBeGreaterThanOrEqual(2)
  })

  it('counts each statement of batch()', async () => {
    await within(db.query('create table if not exists counted (id integer primary key, label text)'), 5000)
    const before = queries()
    await within(
      db.batch([
        { text: 'insert into counted (label) values (?)', params: ['c'] },
        { text: 'insert into counted (label) values (?)', params: ['d'] },
        { text: 'select count(*) as n from counted' },
      ]),
      5000,
    )
    expect(queries() - before, 'a batch of three statements').toBeGreaterThanOrEqual(3)
  })
})
