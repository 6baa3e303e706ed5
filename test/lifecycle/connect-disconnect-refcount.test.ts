// registry.connect()/disconnect() reference counting under races, with connects that really take time.
// a) A disconnect() while the only connect() is still connecting: that connect rejects with CLOSED (it
//    was cancelled, it did not fail), and the count is not left negative, so two connects and one
//    disconnect keep the database connected; the second disconnect closes it.
// b) When one database cannot connect, every concurrent connect() rejects with CONNECT_FAILED (none
//    resolves with nothing connected), nothing stays connected, and a later connect() rejects too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LazyDbError, Registry } from '@lazydb/core'
import { neon } from '@lazydb/core/neon'
import '@lazydb/core/libsql'
import { startNeonWsGateway, type NeonWsGateway } from '../support/neon-ws-gateway.js'
import { closedPort } from '../support/ports.js'
import { pgUrlFor, requirePostgres, waitForConnectionCount } from '../support/postgres.js'
import { tempDir } from '../support/tmp.js'
import { rejectionWithin, settledWithin, within } from './support.js'

const pgUp = await requirePostgres()
const APP = `lazydb-lifecycle-refcount-${process.pid}`
const tmp = tempDir('lazydb-refcount-')

let slow: NeonWsGateway
beforeAll(async () => {
  if (pgUp) slow = await startNeonWsGateway({ delayMs: 100 })
})
afterAll(async () => {
  await slow?.close()
  tmp.remove()
})

/** neon-ws through a gateway delaying each message 100 ms: a connect takes several hundred ms. */
function slowNeonWs(app: string, wsProxy = slow.wsProxy) {
  const url = `${pgUrlFor('ep-lazydb-test.neon.tech', { password: 'not-checked', applicationName: app })}&transport=ws`
  return neon(url, { wsProxy, useSecureWebSocket: false, pipelineConnect: false, max: 2, transport: 'ws' })
}

describe.skipIf(!pgUp)('connect()/disconnect() reference counting under races', () => {
  it('a disconnect() during the only connect() cancels it with CLOSED, and the count stays right', async () => {
    const app = `${APP}-a`
    const registry = new Registry({ database: slowNeonWs(app), platform: 'node', warn: false })
    try {
      const first = registry.connect()
      first.catch(() => undefined)
      const disconnected = await settledWithin(registry.disconnect(), 5000)
      expect(disconnected.status).toBe('fulfilled')
      const error = await rejectionWithin(first, 5000, 'the cancelled connect()')
      expect(error).toBeInstanceOf(LazyDbError)
      expect.soft((error as LazyDbError).code, 'the cancelled connect() says CLOSED').toBe('CLOSED')
      expect(registry.database.isConnected).toBe(false)

      await within(registry.connect(), 5000, 'connect() #1')
      await within(registry.connect(), 5000, 'connect() #2')
      await within(registry.disconnect(), 5000, 'disconnect() #1 of 2')
      expect(registry.database.isConnected, 'one connect() is still held').toBe(true)
      await within(registry.disconnect(), 5000, 'disconnect() #2 of 2')
      expect(registry.database.isConnected, 'the last disconnect() closes').toBe(false)
    } finally {
      await settledWithin(registry.disconnect({ force: true }), 5000)
    }
    expect(await waitForConnectionCount(0, app)).toBe(0)
  })

  it('when one database cannot connect, concurrent connect() calls all reject, nothing stays connected', async () => {
    const app = `${APP}-b`
    const refusedPort = await closedPort()
    const registry = new Registry({
      database: `file:${tmp.file('default.db')}`,
      extra: { broken: slowNeonWs(app, `127.0.0.1:${refusedPort}/v1`) },
      platform: 'node',
      warn: false,
      retry: { totalMs: 300 },
    })
    try {
      const [one, two] = await Promise.all([
        settledWithin(registry.connect(), 5000),
        settledWithin(registry.connect(), 5000),
      ])
      for (const [label, outcome] of [
        ['first', one],
        ['second', two],
      ] as const) {
        expect(outcome.status, `${label} concurrent connect()`).toBe('rejected')
        const reason = (outcome as { reason: unknown }).reason
        expect(reason, `${label} concurrent connect()`).toBeInstanceOf(LazyDbError)
        expect((reason as LazyDbError).code, `${label} concurrent connect()`).toBe('CONNECT_FAILED')
      }
      expect(registry.database.isConnected, 'the default was disconnected again').toBe(false)

      const later = await settledWithin(registry.connect(), 5000)
      expect(later.status, 'a later connect() (the broken database is still down)').toBe('rejected')
      expect(((later as { reason: unknown }).reason as LazyDbError).code).toBe('CONNECT_FAILED')
      expect(registry.database.isConnected).toBe(false)
    } finally {
      await settledWithin(registry.disconnect({ force: true }), 5000)
    }
  })
})
