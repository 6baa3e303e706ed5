// A client whose close() fails: disconnect() rejects with CLOSED naming the database (the caller asked
// for the close and must know it did not happen cleanly), while a close nobody awaits (a request-scoped
// client at the end of its invocation) is reported through on.error and affects nothing.
import { afterEach, describe, expect, it } from 'vitest'
import { handler, LazyDbError, Registry, registerDriver } from '@lazydb/core'
import { fakeDriver } from './fake-driver.js'
import { rejectionWithin, within } from './support.js'

let cleanup: (() => Promise<void>) | undefined
afterEach(async () => {
  await cleanup?.()
  cleanup = undefined
})

function setup(platform: 'node' | 'cloudflare') {
  const driver = fakeDriver()
  driver.closeFails = true
  registerDriver(driver)
  const errors: unknown[] = []
  const registry = new Registry({
    database: `ws://close-fails-${platform}-${process.pid}.test/app`,
    platform,
    warn: false,
    on: { error: (error) => void errors.push(error) },
  })
  cleanup = () => registry.disconnect({ force: true }).catch(() => undefined)
  return { driver, registry, errors }
}

describe('a client whose close fails', () => {
  it('disconnect() rejects with CLOSED naming the database', async () => {
    const { driver, registry } = setup('node')
    await within(registry.database.query('select 1'), 2000)
    const error = await rejectionWithin(registry.disconnect(), 2000, 'disconnect()')
    expect(error).toBeInstanceOf(LazyDbError)
    expect(error).toMatchObject({ code: 'CLOSED' })
    expect((error as LazyDbError).message).toContain('closing failed for: default')
    expect(driver.clients[0]!.closed).toBe(true)
  })

  it('request scope, at the invocation end: the invocation resolves, the failure is reported', async () => {
    const { driver, registry, errors } = setup('cloudflare')
    const select = handler(registry, async () => (await registry.database.query('select 1')).rows)
    expect(await within(select(), 2000, 'the invocation')).toEqual([{ client: 1 }])
    expect(driver.clients[0]!.closed).toBe(true)
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatchObject({ code: 'CLOSED' })
  })
})
