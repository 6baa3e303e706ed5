// A request-scoped database (a socket on Workers) has a client only inside the invocation that used it:
// isConnected says so per database, also before the invocation used any database and while it has used
// another one only; and client(), which needs an owner to close the client with, is refused with CLOSED
// outside any invocation (nothing is opened).
import { afterEach, describe, expect, it } from 'vitest'
import { handler, LazyDbError, Registry, registerDriver } from '@lazydb/core'
import { fakeDriver } from './fake-driver.js'
import { rejectionWithin, within } from './support.js'

let cleanup: (() => Promise<void>) | undefined
afterEach(async () => {
  await cleanup?.()
  cleanup = undefined
})

function setup() {
  const driver = fakeDriver()
  registerDriver(driver)
  const registry = new Registry({
    database: `ws://request-main-${process.pid}.test/app`,
    extra: { other: `ws://request-other-${process.pid}.test/app` },
    platform: 'cloudflare',
    warn: false,
  })
  cleanup = () => registry.disconnect({ force: true }).catch(() => undefined)
  return { driver, registry }
}

describe('a request-scoped database', () => {
  it('isConnected: only once this invocation has used this database', async () => {
    const { driver, registry } = setup()
    const db = registry.database
    const other = registry.extra.other
    expect(db.isConnected).toBe(false)
    const seen = await within(
      handler(registry, async () => {
        const before = [db.isConnected, other.isConnected]
        await other.query('select 1')
        const afterOther = [db.isConnected, other.isConnected]
        await db.query('select 2')
        return [before, afterOther, [db.isConnected, other.isConnected]]
      })(),
      2000,
      'the invocation',
    )
    expect(seen).toEqual([
      [false, false],
      [false, true],
      [true, true],
    ])
    expect(driver.clients.map((c) => c.closed)).toEqual([true, true])
    expect([db.isConnected, other.isConnected]).toEqual([false, false])
  })

  it('client() outside any invocation is CLOSED and opens nothing', async () => {
    const { driver, registry } = setup()
    const error = await rejectionWithin(registry.database.client(), 2000, 'client()')
    expect(error).toBeInstanceOf(LazyDbError)
    expect(error).toMatchObject({ code: 'CLOSED', database: 'default' })
    expect((error as LazyDbError).message).toContain('needs an invocation')
    expect(driver.clients).toEqual([])
  })
})
