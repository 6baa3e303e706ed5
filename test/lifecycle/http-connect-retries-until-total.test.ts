// libSQL over HTTP to a port nothing listens on yet: the first query is a connect, so retry.totalMs
// governs it: lazydb keeps retrying until the budget has run out, not until the next jittered delay
// happens not to fit (today it gives up anywhere from ~375 ms into a 1000 ms budget). With totalMs 1000:
// - a query that never reaches a server fails with CONNECT_FAILED only after ≥ 800 ms and ≥ 3 retries;
// - when the server starts listening on that port ~500, ~700 or ~850 ms after the first query (inside
//   the budget), the query succeeds.
// Each case runs three times at once (different ports): the retry delays are random, and the behaviour
// must not depend on luck.
import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { handler, LazyDbError, Registry, type RetryEvent } from '@lazydb/core'
import '@lazydb/core/libsql'
import { startHranaGateway, type HranaGateway } from '../support/hrana-gateway.js'
import { closedPort } from '../support/ports.js'
import { tempDir } from '../support/tmp.js'
import { settledWithin, sleep } from './support.js'

const TOTAL_MS = 1000
const tmp = tempDir('lazydb-http-retry-')
let gateway: HranaGateway
beforeAll(async () => {
  gateway = await startHranaGateway({ file: tmp.file('remote.db') })
})
afterAll(async () => {
  await gateway?.close()
  tmp.remove()
})

/** Starts listening on `port` and forwards every connection to the Hrana gateway: the server coming up. */
async function listenAndForward(port: number, target: number): Promise<{ close(): Promise<void> }> {
  const sockets = new Set<net.Socket>()
  const server = net.createServer((client) => {
    const upstream = net.connect(target, '127.0.0.1')
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('error', () => socket.destroy())
      socket.on('close', () => sockets.delete(socket))
    }
    client.pipe(upstream).pipe(client)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', resolve)
  })
  return {
    async close() {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

function registryFor(port: number, retries: RetryEvent[]): Registry {
  return new Registry({
    database: `http://127.0.0.1:${port}`,
    platform: 'node',
    warn: false,
    retry: { totalMs: TOTAL_MS },
    on: { retry: (event) => void retries.push(event) },
  })
}

describe('libSQL over HTTP, connection refused at the first query', () => {
  it('fails with CONNECT_FAILED only once retry.totalMs has run out', async () => {
    const trials = await Promise.all(
      [0, 1, 2].map(async () => {
        const port = await closedPort()
        const retries: RetryEvent[] = []
        const registry = registryFor(port, retries)
        const run = handler(registry, () => registry.database.query('select 1 as x'))
        try {
          const started = performance.now()
          const outcome = await settledWithin(run(), 5000)
          const elapsed = performance.now() - started
          const stats = registry.stats().databases.default!
          return { outcome, elapsed, retries: stats.retries, delays: retries.map((r) => r.delayMs) }
        } finally {
          await settledWithin(registry.disconnect({ force: true }), 5000)
        }
      }),
    )
    for (const { outcome, elapsed, retries, delays } of trials) {
      const summary = `gave up after ${Math.round(elapsed)} ms, ${retries} retries (delays ${delays.join(' ')})`
      expect(outcome.status, summary).toBe('rejected')
      const error = (outcome as { reason: unknown }).reason as LazyDbError
      expect(error, summary).toBeInstanceOf(LazyDbError)
      expect(error.code, summary).toBe('CONNECT_FAILED')
      expect(elapsed, summary).toBeGreaterThanOrEqual(0.8 * TOTAL_MS)
      expect(elapsed, summary).toBeLessThan(TOTAL_MS + 1000)
      expect(retries, summary).toBeGreaterThanOrEqual(3)
    }
  })

  it('succeeds when the server starts listening within retry.totalMs of the first query', async () => {
    const target = Number(new URL(gateway.url).port)
    const trials = await Promise.all(
      [500, 700, 850].map(async (upAfterMs) => {
        const port = await closedPort()
        const retries: RetryEvent[] = []
        const registry = registryFor(port, retries)
        const run = handler(registry, async () => (await registry.database.query<{ x: number }>('select 1 as x')).rows)
        let server: { close(): Promise<void> } | undefined
        try {
          const started = performance.now()
          const query = run()
          const comingUp = sleep(upAfterMs).then(async () => (server = await listenAndForward(port, target)))
          const outcome = await settledWithin(query, 5000)
          const elapsed = performance.now() - started
          await comingUp
          const delays = retries.map((r) => r.delayMs).join(' ')
          const summary = `server up after ${upAfterMs} ms; settled after ${Math.round(elapsed)} ms (delays ${delays})`
          return { outcome, summary }
        } finally {
          await settledWithin(registry.disconnect({ force: true }), 5000)
          await server?.close()
        }
      }),
    )
    for (const { outcome, summary } of trials) {
      const shown =
        outcome.status === 'rejected' ? { status: 'rejected', code: (outcome.reason as LazyDbError)?.code } : outcome
      expect(shown, summary).toEqual({ status: 'fulfilled', value: [{ x: 1 }] })
    }
  })
})
