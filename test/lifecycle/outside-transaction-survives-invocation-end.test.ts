// A transaction started outside handler() belongs to nobody's invocation: on a registry whose databases
// are all warm (embedded libSQL), an unrelated invocation that runs to completion meanwhile must not roll
// it back. The transaction commits when its function resolves, and both of its rows are in the file.
import Database from 'libsql'
import { afterAll, describe, expect, it } from 'vitest'
import { handler, Registry } from '@lazydb/core'
import '@lazydb/core/libsql'
import { tempDir } from '../support/tmp.js'
import { settledWithin, within } from './support.js'

const tmp = tempDir('lazydb-outside-tx-')
afterAll(() => tmp.remove())

function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void
  const opened = new Promise<void>((resolve) => (open = resolve))
  return { opened, open }
}

describe('a transaction started outside handler() on a warm-only registry', () => {
  it('is not rolled back when an unrelated invocation ends', async () => {
    const file = tmp.file('outside.db')
    const registry = new Registry({ database: `file:${file}`, platform: 'node', warn: false })
    const db = registry.database
    const countItems = async () => (await db.query<{ n: number }>('select count(*) as n from items')).rows[0]!.n
    const serve = handler(registry, countItems)
    try {
      await db.query('create table items (id integer primary key, label text not null)')
      // The process has served requests before, as a warm function has.
      expect(await within(serve(), 5000, 'the first invocation')).toBe(0)

      const release = gate()
      const firstInserted = gate()
      const transaction = db.transaction(async (tx) => {
        await tx.query('insert into items (label) values (?)', ['first'])
        firstInserted.open()
        await release.opened
        await tx.query('insert into items (label) values (?)', ['second'])
        return 'committed'
      })
      transaction.catch(() => undefined)
      await within(firstInserted.opened, 5000, 'the first insert of the transaction')

      // An unrelated invocation runs to completion while the transaction waits.
      await within(serve(), 5000, 'an unrelated invocation')

      release.open()
      const outcome = await settledWithin(transaction, 5000)
      expect(outcome).toEqual({ status: 'fulfilled', value: 'committed' })
    } finally {
      await settledWithin(registry.disconnect({ force: true }), 5000)
    }
    const check = new Database(file)
    try {
      const rows = check.prepare('select label from items order by id').all() as { label: string }[]
      expect(rows.map((row) => row.label)).toEqual(['first', 'second'])
    } finally {
      check.close()
    }
  })
})
