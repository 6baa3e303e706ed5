// A forced disconnect of an all-warm registry ends its invocations' shared owner (InvocationLifecycle.endAllNow),
// not only the warm client it uses now: a transaction the owner holds on an older warm client is rolled back
// too. Here the older client is one the process-wide cache shared with a second registry over the same URL,
// which retired it gracefully (it stays open under the transaction's hold) before this registry replaced it;
// forcing only the current client would leave that transaction running and committing after the disconnect.
import { afterAll, describe, expect, it } from 'vitest'
import { handler, LazyDbError, Registry } from '@lazydb/core'
import '@lazydb/core/libsql'
import { tempDir } from '../support/tmp.js'
import { settledWithin, within } from './support.js'

const tmp = tempDir('lazydb-forced-shared-')
afterAll(() => tmp.remove())

const gate = () => {
  let open!: () => void
  const opened = new Promise<void>((resolve) => (open = resolve))
  return { open, opened }
}

describe('disconnect({ force: true }) of an all-warm registry', () => {
  it('rolls back a transaction of an invocation in flight that sits on a retired, replaced warm client', async () => {
    const url = `file:${tmp.file('shared.db')}`
    const mine = new Registry({ database: url, platform: 'node', warn: false })
    const sharing = new Registry({ database: url, platform: 'node', warn: false })
    const inserted = gate()
    const resume = gate()
    const finish = gate()
    let transaction!: Promise<unknown>
    try {
      await mine.database.query('create table t (n int)')
      await sharing.database.query('select 1') // both registries now use the one cached warm client
      const call = handler(mine, async () => {
        transaction = mine.database.transaction(async (tx) => {
          await tx.query('insert into t values (1)')
          inserted.open()
          await resume.opened
          await tx.query('insert into t values (2)')
        })
        transaction.catch(() => undefined)
        await finish.opened
        return 'finished'
      })()
      await within(inserted.opened, 2000, 'the first insert')
      await within(sharing.disconnect(), 2000, 'the other registry disconnecting')
      // The shared client is retired (held open by the transaction): a statement now gets a new one.
      await within(handler(mine, () => mine.database.query('select 1'))(), 2000, 'a statement on a new client')
      expect(mine.stats().databases.default).toMatchObject({ scope: 'warm', connects: 2 })

      await within(mine.disconnect({ force: true }), 2000, 'the forced disconnect')
      resume.open()
      const outcome = await settledWithin(transaction, 2000)
      expect(outcome.status).toBe('rejected')
      expect((outcome as { reason: unknown }).reason).toBeInstanceOf(LazyDbError)
      expect((outcome as { reason: unknown }).reason).toMatchObject({ code: 'CLOSED' })
      finish.open()
      expect(await within(call, 2000, 'the invocation')).toBe('finished')
      const { rows } = await mine.database.query<{ c: number }>('select count(*) as c from t')
      expect(rows).toEqual([{ c: 0 }])
    } finally {
      resume.open()
      finish.open()
      await mine.disconnect({ force: true })
      await sharing.disconnect({ force: true })
    }
  })
})
