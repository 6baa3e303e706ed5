// Embedded libSQL (a file) has one writer at a time: lazydb must serialise its own write transactions
// on one file database, so 30 concurrent db.transaction() calls all commit, none fails with SQLITE_BUSY.
// While a transaction is open, a read goes ahead at once, a write waits for its turn and then commits,
// and on :memory: (one connection only) any statement waits for the transaction instead of failing.
import Database from 'libsql'
import { afterAll, describe, expect, it } from 'vitest'
import { Registry } from '@lazydb/core'
import '@lazydb/core/libsql'
import { tempDir } from '../support/tmp.js'
import { settledWithin, within } from './support.js'

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

  function gate(): { opened: Promise<void>; open: () => void } {
    let open!: () => void
    const opened = new Promise<void>((resolve) => (open = resolve))
    return { opened, open }
  }

  for (const where of ['file', ':memory:'] as const) {
    it(
      `${where}: while a transaction is open, a read ${where === 'file' ? 'goes ahead' : 'waits'} ` +
        'and a write waits, then commits',
      async () => {
        const url = where === 'file' ? `file:${tmp.file('during.db')}` : ':memory:'
        const registry = new Registry({ database: url, platform: 'node', warn: false })
        const db = registry.database
        const order: string[] = []
        try {
          await db.query('create table entries (id integer primary key, label text not null)')
          const release = gate()
          const inside = gate()
          const transaction = db.transaction(async (tx) => {
            await tx.query("insert into entries (label) values ('tx')")
            inside.open()
            await release.opened
            order.push('commit')
          })
          await within(inside.opened, 5000, 'the transaction')
          const read = db.query('select count(*) as n from entries').then((r) => (order.push('read'), r.rows[0]))
          const write = db.query("insert into entries (label) values ('after')").then(() => order.push('write'))
          await new Promise((resolve) => setTimeout(resolve, 100))
          // The transaction's own row is not visible to the read, which does not wait on a file.
          expect(order).toEqual(where === 'file' ? ['read'] : [])
          release.open()
          await within(Promise.all([transaction, read, write]), 5000, 'the transaction, the read and the write')
          expect(order).toEqual(where === 'file' ? ['read', 'commit', 'write'] : ['commit', 'read', 'write'])
          const { rows } = await db.query<{ label: string }>('select label from entries order by id')
          expect(rows.map((r) => r.label)).toEqual(['tx', 'after'])
        } finally {
          await settledWithin(registry.disconnect({ force: true }), 5000)
        }
      },
    )
  }
})
