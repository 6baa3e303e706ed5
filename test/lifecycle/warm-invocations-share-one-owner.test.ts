// The shared owner of a registry whose databases are all warm (InvocationLifecycle.leave, endAllNow): no
// AsyncLocalStorage tells invocations apart, so the invocations in flight own their work together. A
// transaction one of them left open is not rolled back while another is still in flight (it keeps working),
// and is rolled back when the last of them ends. A forced disconnect while an invocation runs ends the
// shared owner; the invocation still returns its own value when it finishes.
import { afterAll, describe, expect, it } from 'vitest'
import { handler, LazyDbError, Registry } from '@lazydb/core'
import '@lazydb/core/libsql'
import { tempDir } from '../support/tmp.js'
import { type Settled, settledWithin, within } from './support.js'

const tmp = tempDir('lazydb-shared-owner-')
afterAll(() => tmp.remove())
let n = 0

function warmRegistry() {
  const registry = new Registry({ database: `file:${tmp.file(`shared-${++n}.db`)}`, platform: 'node', warn: false })
  expect(registry.stats().databases.default).toMatchObject({ scope: 'warm' })
  return registry
}

const gate = () => {
  let open!: () => void
  const opened = new Promise<void>((resolve) => (open = resolve))
  return { open, opened }
}

describe('invocations of an all-warm registry', () => {
  it('a transaction left open survives while another invocation is in flight; the last one ends it', async () => {
    const registry = warmRegistry()
    const db = registry.database
    await db.query('create table t (n int)')
    const other = gate()
    const resume = gate()
    const last = gate()
    let transaction!: Promise<unknown>
    let secondSettled!: (outcome: Settled<unknown>) => void
    const second = new Promise<Settled<unknown>>((resolve) => (secondSettled = resolve))
    const invoke = handler(registry, async (role: 'leave-open' | 'wait') => {
      if (role === 'wait') {
        await other.opened
        return 'waited'
      }
      const inserted = gate()
      transaction = db.transaction(async (tx) => {
        await tx.query('insert into t values (1)')
        inserted.open()
        await resume.opened
        secondSettled(await settledWithin(tx.query('insert into t values (2)'), 2000))
        await last.opened // still open when the last invocation ends
        await tx.query('insert into t values (3)')
      })
      transaction.catch(() => undefined)
      await inserted.opened
      return 'returned'
    })
    try {
      const waiting = invoke('wait')
      expect(await within(invoke('leave-open'), 3000, 'the invocation leaving a transaction open')).toBe('returned')
      // Another invocation is in flight: the transaction is not rolled back; its next statement runs.
      resume.open()
      expect((await within(second, 3000, 'the next statement')).status).toBe('fulfilled')
      expect((await settledWithin(transaction, 20)).status).toBe('pending')
      // The last invocation in flight ends: the transaction is rolled back, nothing it wrote lands.
      other.open()
      expect(await within(waiting, 3000, 'the waiting invocation')).toBe('waited')
      last.open()
      const outcome = await settledWithin(transaction, 3000)
      expect(outcome.status).toBe('rejected')
      expect((outcome as { reason: unknown }).reason).toBeInstanceOf(LazyDbError)
      expect((outcome as { reason: unknown }).reason).toMatchObject({ code: 'CLOSED' })
      expect((await db.query<{ c: number }>('select count(*) as c from t')).rows[0]!.c).toBe(0)
    } finally {
      resume.open()
      other.open()
      last.open()
      await registry.disconnect({ force: true })
    }
  })

  it('a forced disconnect while one runs: the invocation still returns its own value', async () => {
    const registry = warmRegistry()
    const queried = gate()
    const finish = gate()
    const invoke = handler(registry, async () => {
      await registry.database.query('select 1')
      queried.open()
      await finish.opened
      return 'finished'
    })
    const call = invoke()
    await within(queried.opened, 3000, 'the first statement')
    await within(registry.disconnect({ force: true }), 3000, 'the forced disconnect')
    finish.open()
    expect(await settledWithin(call, 3000)).toEqual({ status: 'fulfilled', value: 'finished' })
  })
})
