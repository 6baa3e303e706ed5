// An invocation that ends with a warm socket open hands its platform's waitUntil a promise that settles
// when that socket's idle close has happened, so the instance is not suspended with the socket open
// (and not before: the promise is still pending while the socket is).
import { afterEach, describe, expect, it } from 'vitest'
import { handler, Registry, registerDriver, type CloseEvent } from '@lazydb/core'
import { fakeDriver } from './fake-driver.js'
import { settledWithin, within } from './support.js'

let cleanup: (() => Promise<void>) | undefined
afterEach(async () => {
  await cleanup?.()
  cleanup = undefined
})

describe('a warm socket at the end of an invocation', () => {
  it('waitUntil gets a promise that settles once the idle timer has closed the socket', async () => {
    const driver = fakeDriver()
    registerDriver(driver)
    const closes: CloseEvent['reason'][] = []
    const registry = new Registry({
      database: `ws://keep-alive-${process.pid}.test/app`,
      platform: 'node',
      idleTimeoutMs: 150,
      warn: false,
      on: { close: (event) => void closes.push(event.reason) },
    })
    cleanup = () => registry.disconnect({ force: true }).catch(() => undefined)
    const kept: unknown[] = []
    const context = { waitUntil: (promise: unknown) => void kept.push(promise) }
    const select = handler(registry, async (_event: object, _context: typeof context) => {
      return (await registry.database.query('select 1')).rows
    })
    expect(await within(select({}, context), 2000, 'the invocation')).toEqual([{ client: 1 }])
    expect(kept).toHaveLength(1)
    const closed = kept[0] as Promise<void>
    expect(typeof closed.then).toBe('function')
    expect((await settledWithin(closed, 50)).status).toBe('pending')
    expect(driver.clients[0]!.closed).toBe(false)
    await within(closed, 2000, 'the keep-alive promise')
    expect(driver.clients[0]!.closed).toBe(true)
    expect(closes).toEqual(['idle'])
  })

  it('an invocation that used no database (no warm client yet) ends normally, handing waitUntil nothing', async () => {
    registerDriver(fakeDriver())
    const registry = new Registry({ database: `ws://unused-${process.pid}.test/app`, platform: 'node', warn: false })
    cleanup = () => registry.disconnect({ force: true }).catch(() => undefined)
    const kept: unknown[] = []
    const context = { waitUntil: (promise: unknown) => void kept.push(promise) }
    const noop = handler(registry, async (_event: object, _context: typeof context) => 'done')
    expect(await within(noop({}, context), 2000, 'the invocation')).toBe('done')
    expect(kept).toEqual([])
  })
})
