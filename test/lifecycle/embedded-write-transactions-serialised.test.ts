// Embedded libSQL (a file) has one writer at a time: lazydb must serialise its own write transactions
// on one file database, so 30 concurrent db.transaction() calls all commit, none fails with SQLITE_BUSY.
import Database from 'libsql'
import { afterAll, describe, expect, it } from 'vitest'
import { Registry } from 'lazydb'
import 'lazydb/libsql'
import { tempDir } from '../support/tmp.js'
import { settledWithin } from './support.js'

const tmp = tempDir('lazydb-serialised-tx-')
afterAll(() => tmp.remove())

const CONCURRENT = 30

describe('embedded libSQL write transactions', () => {
  it(`${CONCURRENT} concurrent transaction() calls on one file database all commit`, async () => {
    const file = tmp.file('serialised.db')
    const registry = new Registry({ database: `file:${file}`, platform: 'node', warn: false })
    const db = registry.database
    try {
      await db.query('create table entries (id integer primary key, n integer not null)')
      const all = Promise.allSettled(
        Array.from({ length: CONCURRENT }, (_, n) =>
          db.transaction(async (tx) => {
            await tx.query('insert into entries (n) values (?)', [n])
            return n
          }),
        ),
      )
      const outcome = await settledWithin(all, 10_000)
      expect(outcome.status, 'the transactions settle').toBe('fulfilled')
      const results = (outcome as { value: PromiseSettledResult<number>[] }).value
      const failures = results.flatMap((r) => (r.status === 'rejected' ? [String((r.reason as Error)?.message)] : []))
      expect(failures.length, `failed transactions, e.g. ${failures[0]}`).toBe(0)
    } finally {
      await settledWithin(registry.disconnect({ force: true }), 5000)
    }
    const check = new Database(file)
    try {
      expect((check.prepare('select count(*) as n from entries').get() as { n: number }).n).toBe(CONCURRENT)
    } finally {
      check.close()
    }
  })
})
