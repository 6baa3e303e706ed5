// disconnect() when the warm client was already retired as lost (its connection broke under one
// statement) while another statement still runs on it: the client's close is already scheduled for
// when that statement ends, so a plain disconnect() does not wait for it; disconnect({ force: true })
// closes it at once and the statement settles with CLOSED, nothing left open or pending.
import { afterEach, describe, expect, it } from 'vitest'
import { LazyDbError, Registry, registerDriver } from '@lazydb/core'
import { fakeDriver, gate, maybeRan } from './fake-driver.js'
import { rejectionWithin, settledWithin, within } from './support.js'

let cleanup: (() => Promise<void>) | undefined
afterEach(async () => {
  await cleanup?.()
  cleanup = undefined
})

let serial = 0
/** A warm socket retired as lost while `slow` still runs on it, its answer held until `answer.open()`. */
async function lostWhileBusy() {
  const driver = fakeDriver()
  registerDriver(driver)
  const registry = new Registry({
    database: `ws://lost-busy-${process.pid}-${++serial}.test/app`,
    platform: 'node',
    warn: false,
  })
  cleanup = () => registry.disconnect({ force: true }).catch(() => undefined)
  const db = registry.database
  await within(db.query('select 1'), 2000)
  const started = gate()
  const answer = gate()
  driver.next.push(
    async (client) => {
      started.open()
      await answer.promise
      return { client: client.id }
    },
    () => {
      throw maybeRan()
    },
  )
  const slow = db.query('select 2')
  await within(started.promise, 2000, 'the slow statement reaching the client')
  expect(await rejectionWithin(db.query('update t set x = 1'), 2000, 'the lost statement')).toBeInstanceOf(LazyDbError)
  expect(driver.clients[0]!.closed).toBe(false)
  return { driver, registry, slow, answer }
}

describe('disconnect() with the warm client retired as lost but still busy', () => {
  it('plain: settles without waiting for that statement; the client closes when it ends', async () => {
    const { driver, registry, slow, answer } = await lostWhileBusy()
    expect((await settledWithin(registry.disconnect(), 200)).status).toBe('fulfilled')
    expect(driver.clients[0]!.closed).toBe(false)
    answer.open()
    expect((await within(slow, 2000, 'the slow statement')).rows).toEqual([{ client: 1 }])
    await within(
      (async () => {
        while (driver.clients[0]!.closed === false) await new Promise((r) => setTimeout(r, 5))
      })(),
      2000,
      'the lost client closing',
    )
    expect(driver.clients[0]!.closed).toBe(true)
  })

  it('forced: closes it at once, the statement still on it rejects with CLOSED', async () => {
    const { driver, registry, slow } = await lostWhileBusy()
    await within(registry.disconnect({ force: true }), 2000, 'the forced disconnect')
    expect(await rejectionWithin(slow, 1000, 'the slow statement')).toMatchObject({ code: 'CLOSED', mayHaveRun: true })
    expect(driver.clients[0]!.closed).toBe('forced')
  })
})
