// What a request-scoped invocation owns ends when it leaves (InvocationLifecycle.leave, Invocation.end),
// through the platform's waitUntil where there is one (a transaction left open is rolled back before the
// call returns even then: rollback-at-leave.test.ts): a committed transaction is not one to roll back, so the
// close is handed to waitUntil; an invocation that used nothing hands waitUntil nothing, yet counts as
// ended — work it left running gets a client of its own, closed after it, not one tied to the invocation.
import { afterAll, describe, expect, it } from 'vitest'
import { handler, Registry } from '@lazydb/core'
import '@lazydb/core/libsql'
import { tempDir } from '../support/tmp.js'
import { sleep, within } from './support.js'

const tmp = tempDir('lazydb-request-leave-')
afterAll(() => tmp.remove())
let n = 0

function requestScoped() {
  const registry = new Registry({
    database: { url: `file:${tmp.file(`leave-${++n}.db`)}`, scope: 'request' },
    platform: 'node',
    warn: false,
  })
  const handed: unknown[] = []
  const ctx = { waitUntil: (promise: unknown) => void handed.push(promise) }
  const stats = () => registry.stats().databases.default!
  return { registry, db: registry.database, handed, ctx, stats }
}

describe('a request-scoped invocation leaving', () => {
  it('hands the close to waitUntil after a committed transaction (no rollback to wait for)', async () => {
    const { registry, db, handed, ctx, stats } = requestScoped()
    const invoke = handler(registry, async (_event: unknown, _ctx: typeof ctx) => {
      await db.transaction((tx) => tx.query('select 1'))
      return 'committed'
    })
    expect(await within(invoke({}, ctx), 3000, 'the invocation')).toBe('committed')
    expect(handed).toHaveLength(1)
    await within(Promise.all(handed), 2000, 'the promise handed to waitUntil')
    expect(stats()).toMatchObject({ connects: 1, closes: 1 })
    expect(db.isConnected).toBe(false)
  })

  it('hands waitUntil nothing when the invocation used no database', async () => {
    const { registry, handed, ctx, stats } = requestScoped()
    const invoke = handler(registry, (_event: unknown, _ctx: typeof ctx) => 'nothing')
    expect(await within(invoke({}, ctx), 3000, 'the invocation')).toBe('nothing')
    expect(handed).toEqual([])
    expect(stats()).toMatchObject({ connects: 0, closes: 0 })
  })

  it('gives work left running by an invocation that used nothing a client of its own, closed after it', async () => {
    const { registry, db, stats } = requestScoped()
    let late: Promise<unknown> | undefined
    const invoke = handler(registry, () => {
      late = sleep(20).then(() => db.query('select 1 as one'))
    })
    await within(invoke(), 3000, 'the invocation')
    expect(await within(late!, 3000, 'the late statement')).toMatchObject({ rows: [{ one: 1 }] })
    await expect.poll(() => stats().closes, { timeout: 1000 }).toBe(1)
    expect(stats()).toMatchObject({ connects: 1, closes: 1 })
    expect(db.isConnected).toBe(false)
  })
})
