// The hot path (a warm, live client runs the statement directly, no hook or tracing set) takes a
// statement lease like any other use: a disconnect waits for the statement before closing the client,
// and a client retired while a statement still runs on it (its connection lost under another one)
// takes no new statement: the next one gets a new client.
import { afterEach, describe, expect, it } from 'vitest'
import { LazyDbError, Registry, registerDriver, type CloseEvent } from '@lazydb/core'
import { fakeDriver, gate, maybeRan } from './fake-driver.js'
import { rejectionWithin, settledWithin, within } from './support.js'

let cleanup: (() => Promise<void>) | undefined
afterEach(async () => {
  await cleanup?.()
  cleanup = undefined
})

let serial = 0
function setup() {
  const driver = fakeDriver()
  registerDriver(driver)
  const closes: CloseEvent['reason'][] = []
  const registry = new Registry({
    database: `ws://hot-path-${process.pid}-${++serial}.test/app`,
    platform: 'node',
    warn: false,
    on: { close: (event) => void closes.push(event.reason) },
  })
  cleanup = () => registry.disconnect({ force: true }).catch(() => undefined)
  return { driver, registry, db: registry.database, closes }
}

describe('a statement on the warm hot path', () => {
  it('holds its client: disconnect() closes it only once the statement has answered', async () => {
    const { driver, registry, db, closes } = setup()
    await within(db.query('select 1'), 2000)
    const started = gate()
    const answer = gate()
    driver.next.push(async (client) => {
      started.open()
      await answer.promise
      return { client: client.id }
    })
    const statement = db.query('select 2')
    await within(started.promise, 2000, 'the statement reaching the client')
    const disconnecting = registry.disconnect()
    expect((await settledWithin(disconnecting, 100)).status).toBe('pending')
    expect(driver.clients[0]!.closed).toBe(false)
    answer.open()
    expect((await within(statement, 2000, 'the statement')).rows).toEqual([{ client: 1 }])
    await within(disconnecting, 2000, 'the disconnect')
    expect(driver.clients[0]!.closed).toBe(true)
    expect(closes).toEqual(['disconnect'])
  })

  it('a client retired as lost while a statement still runs on it takes no new statement', async () => {
    const { driver, db, closes } = setup()
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
    const lost = await rejectionWithin(db.query('update t set x = 1'), 2000, 'the statement that lost its connection')
    expect(lost).toBeInstanceOf(LazyDbError)
    expect(lost).toMatchObject({ mayHaveRun: true })
    // The first client is retired but still open for the slow statement: a new one serves this.
    expect((await within(db.query('select 3'), 2000)).rows).toEqual([{ client: 2 }])
    expect(driver.clients[0]!.texts).toEqual(['select 1', 'select 2', 'update t set x = 1'])
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
    expect(closes).toEqual(['lost'])
  })
})
