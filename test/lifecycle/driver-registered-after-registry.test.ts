// A driver registered after the registry was made (a URL-configured database whose driver subpath is
// imported later) is found at first connect, and one without the optional validate() works there too
// (validate is optional in the Driver contract), as it does when registered first.
import { describe, expect, it } from 'vitest'
import { Registry, registerDriver } from '@lazydb/core'
import { fakeDriver } from './fake-driver.js'
import { within } from './support.js'

describe('a driver without validate()', () => {
  it('registered after new Registry(): found at first connect, statements run on it', async () => {
    const registry = new Registry({ database: `http://late-${process.pid}.test/app`, platform: 'node', warn: false })
    const driver = fakeDriver()
    registerDriver(driver)
    try {
      expect((await within(registry.database.query('select 1'), 2000)).rows).toEqual([{ client: 1 }])
      expect(driver.clients[0]!.texts).toEqual(['select 1'])
    } finally {
      await registry.disconnect()
    }
  })

  it('registered before new Registry(): the registry is made and statements run', async () => {
    const driver = fakeDriver()
    registerDriver(driver)
    const registry = new Registry({ database: `http://early-${process.pid}.test/app`, platform: 'node', warn: false })
    try {
      expect((await within(registry.database.query('select 1'), 2000)).rows).toEqual([{ client: 1 }])
    } finally {
      await registry.disconnect()
    }
  })
})
