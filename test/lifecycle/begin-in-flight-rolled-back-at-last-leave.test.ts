// An all-warm registry (the invocations in flight share one owner): a transaction the function
// started but did not await, whose BEGIN is still on its way when the last invocation returns, is
// rolled back by that leave, before the handler call returns. Its body never writes, its promise
// rejects with CLOSED, and it holds nothing (for an embedded database, the write lock) — without
// waiting for another, unrelated invocation to end it, and without committing when none comes.
import { afterAll, describe, expect, it } from 'vitest'
import { handler, LazyDbError, Registry } from '@lazydb/core'
import { libsql } from '@lazydb/core/libsql'
import { tempDir } from '../support/tmp.js'
import { settledWithin, within } from './support.js'

const tmp = tempDir('lazydb-begin-in-flight-')
afterAll(() => tmp.remove())
let n = 0

describe('a transaction still beginning when the last invocation of an all-warm registry returns', () => {
  for (const connected of [false, true]) {
    const when = connected ? 'on a connected client' : 'before the client connected'
    it(`${when}: is rolled back before the call returns, and rejects with CLOSED`, async () => {
      const url = `file:${tmp.file(`begin-${++n}.db`)}`
      // The table comes from a client of its own (other options: another warm client), not the one under test.
      const setup = new Registry({ database: libsql(url, { intMode: 'bigint' }), platform: 'node', warn: false })
      await setup.database.query('create table t (n int)')
      await setup.disconnect()
      const registry = new Registry({ database: url, platform: 'node', warn: false })
      expect(registry.stats().databases.default).toMatchObject({ scope: 'warm' })
      const db = registry.database
      if (connected) await db.query('select 1')
      expect(db.isConnected).toBe(connected)
      let transaction!: Promise<unknown>
      let resume!: () => void
      const paused = new Promise<void>((resolve) => (resume = resolve))
      const invoke = handler(registry, () => {
        transaction = db.transaction(async (tx) => {
          await tx.query('insert into t values (1)')
          await paused
          await tx.query('insert into t values (2)')
          return 'committed'
        })
        transaction.catch(() => undefined)
        return 'returned' // at once: the BEGIN is still in flight
      })
      try {
        expect(await within(invoke(), 3000, 'the invocation')).toBe('returned')
        // No other invocation comes: the leave itself ended the transaction.
        const outcome = await settledWithin(transaction, 1000)
        expect(outcome.status, 'the transaction after the last invocation returned').toBe('rejected')
        const error = (outcome as { reason: unknown }).reason
        expect(error).toBeInstanceOf(LazyDbError)
        expect(error).toMatchObject({ code: 'CLOSED', database: 'default' })
        resume()
        // Nothing it wrote landed, and it holds no write lock: a write outside any invocation commits.
        await within(db.query('insert into t values (3)'), 2000, 'a write after the invocation')
        expect((await db.query<{ n: number }>('select n from t')).rows).toEqual([{ n: 3 }])
      } finally {
        resume()
        await registry.disconnect({ force: true })
      }
    })
  }
})
