// The NOT_CONNECTED warning says lazydb connected a database lazily outside handler() and connect(): it
// is given when such a use does connect, not for a use outside handler() of a warm client an invocation
// already opened (nothing was connected lazily), and once per database.
import { describe, expect, it } from 'vitest'
import { handler, Registry, registerDriver, type WarningEvent } from '@lazydb/core'
import { fakeDriver } from './fake-driver.js'
import { within } from './support.js'

describe('the NOT_CONNECTED warning', () => {
  it('is given by the use outside handler() that connects, not by one on a client already open', async () => {
    const driver = fakeDriver()
    registerDriver(driver)
    const warnings: WarningEvent[] = []
    const registry = new Registry({
      database: `ws://warning-${process.pid}.test/app`,
      platform: 'node',
      on: { warning: (event) => void warnings.push(event) },
    })
    const db = registry.database
    try {
      await within(handler(registry, async () => db.query('select 1'))(), 2000, 'the invocation')
      // A batch: it takes a lease (the hot path of query() skips that step on a live warm client).
      await within(db.batch([{ text: 'select 2' }]), 2000, 'the use outside handler() on the open client')
      expect(warnings).toEqual([])
      await within(registry.disconnect(), 2000, 'disconnect')
      await within(db.query('select 3'), 2000, 'the use outside handler() that connects')
      await within(db.query('select 4'), 2000, 'a second use outside handler()')
      expect(warnings.map((w) => [w.code, w.database])).toEqual([['NOT_CONNECTED', 'default']])
      expect(driver.clients).toHaveLength(2)
    } finally {
      await registry.disconnect()
    }
  })
})
