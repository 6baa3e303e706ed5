// A statement that never started does not say it may have run. With another connection holding the
// write lock (BEGIN IMMEDIATE through the libsql package), a lazydb write on the same embedded file is
// refused with SQLITE_BUSY before it runs: the LazyDbError says mayHaveRun === false, so a caller knows
// that retrying is safe.
import Database from 'libsql'
import { afterAll, describe, expect, it } from 'vitest'
import { LazyDbError, Registry } from '@lazydb/core'
import '@lazydb/core/libsql'
import { tempDir } from '../support/tmp.js'
import { settledWithin } from './support.js'

const tmp = tempDir('lazydb-busy-')
afterAll(() => tmp.remove())

describe('a write refused with SQLITE_BUSY', () => {
  it('rejects with a LazyDbError whose mayHaveRun is false, and nothing was written', async () => {
    const file = tmp.file('busy.db')
    const registry = new Registry({ database: `file:${file}`, platform: 'node', warn: false })
    const db = registry.database
    const locker = new Database(file)
    try {
      await db.query('create table entries (id integer primary key, label text not null)')
      locker.exec('BEGIN IMMEDIATE')
      let outcome: { status: string; reason?: unknown } | undefined
      try {
        outcome = await settledWithin(db.query('insert into entries (label) values (?)', ['blocked']), 10_000)
      } finally {
        locker.exec('ROLLBACK')
      }
      expect(outcome?.status).toBe('rejected')
      const error = (outcome as { reason: unknown }).reason as LazyDbError
      expect(error).toBeInstanceOf(LazyDbError)
      expect(error.message).toMatch(/SQLITE_BUSY|database is locked/i)
      expect(error.mayHaveRun, `mayHaveRun of ${error.code}: ${error.message}`).toBe(false)
    } finally {
      locker.close()
      await settledWithin(registry.disconnect({ force: true }), 5000)
    }
    const check = new Database(file)
    try {
      expect((check.prepare('select count(*) as n from entries').get() as { n: number }).n).toBe(0)
    } finally {
      check.close()
    }
  })
})
