// A server that accepts TCP connections and never answers (a black hole: a stuck proxy, a half-dead
// load balancer) cannot make a socket connect pend forever: on neon-ws, registry.connect() and a
// first statement fail with CONNECT_FAILED within retry.totalMs (each attempt gets at least 1 s).
// Only socket connects are bounded so: an HTTP driver's statement waits as long as fetch does, which
// lazydb does not time (not tested here).
import net from 'node:net'
import ws from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type LazyDbError, Registry } from '@lazydb/core'
import { neon } from '@lazydb/core/neon'
import { describeOutcome, settledWithin } from './pool-support.js'

const TOTAL_MS = 1000
/** retry.totalMs, plus the 1 s an attempt always gets, plus scheduling slack. */
const BOUND_MS = TOTAL_MS + 1000 + 700

describe('a socket connect to a server that never answers', () => {
  let server: net.Server
  const sockets = new Set<net.Socket>()
  let port = 0

  beforeAll(async () => {
    server = net.createServer((socket) => {
      sockets.add(socket) // accepted, never answered
      socket.on('error', () => {})
      socket.on('close', () => sockets.delete(socket))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    port = (server.address() as net.AddressInfo).port
  })
  afterAll(async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise((resolve) => server.close(resolve))
  })

  const blackHoled = () =>
    new Registry({
      database: neon('postgres://user:secret-pw@ep-black-hole.neon.tech/db', {
        driver: 'neon-ws',
        wsProxy: `127.0.0.1:${port}/v2`,
        useSecureWebSocket: false,
        pipelineConnect: false,
        webSocketConstructor: ws,
      }),
      platform: 'node',
      warn: false,
      retry: { baseDelayMs: 50, totalMs: TOTAL_MS },
    })

  async function failsInTime(attempt: () => Promise<unknown>): Promise<void> {
    const started = Date.now()
    const outcome = await settledWithin(attempt(), BOUND_MS)
    const elapsed = Date.now() - started
    expect(describeOutcome(outcome), `after ${elapsed} ms`).toBe('rejected CONNECT_FAILED')
    expect(elapsed).toBeGreaterThanOrEqual(TOTAL_MS - 100) // it did wait for an answer first
    const error = (outcome as { error: LazyDbError }).error
    expect(error.message).not.toContain('secret-pw')
  }

  it('neon-ws registry.connect(): CONNECT_FAILED within retry.totalMs + 1 s', async () => {
    const registry = blackHoled()
    try {
      await failsInTime(() => registry.connect())
    } finally {
      await settledWithin(registry.disconnect({ force: true }), 2000)
    }
  })

  it('neon-ws first statement (lazy connect): CONNECT_FAILED within retry.totalMs + 1 s', async () => {
    const registry = blackHoled()
    try {
      await failsInTime(() => registry.database.query('select 1'))
    } finally {
      await settledWithin(registry.disconnect({ force: true }), 2000)
    }
  })
})
