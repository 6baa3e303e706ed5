// The Lambda example (functions/aws-lambda/handler.ts), bundled for Node as Lambda runs it, invoked
// through lambda-local (an emulation: there is no Lambda runtime here) with API Gateway v2 events,
// on neon-ws through the WebSocket gateway to the real PostgreSQL. Then the FREEZE HARNESS: the
// same bundle in a child process that is stopped with SIGSTOP between invocations and resumed with
// SIGCONT, while the far side drops the idle socket.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fork, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import lambdaLocal from 'lambda-local'
import type { Registry } from '@lazydb/core'
import { startNeonWsGateway, type NeonWsGateway } from '../support/neon-ws-gateway.js'
import { pgUrlFor, requirePostgres, waitForConnectionCount } from '../support/postgres.js'
import { bundleDir, importBundle, sleep } from './helpers.js'

const pgUp = await requirePostgres()

const APP = `lazydb-lambda-${process.pid}`
const NEON_HOST = 'ep-lazydb-test.neon.tech'
const wsUrl = (app: string) => `${pgUrlFor(NEON_HOST, { password: 'not-checked', applicationName: app })}&transport=ws`
const silent = { log() {}, transports: [] }

interface HttpApiResult {
  statusCode: number
  headers: Record<string, string>
  body: string
}
interface LambdaModule {
  handler: (event: unknown, context: unknown) => Promise<HttpApiResult>
  registry: Registry
}
type Stats = ReturnType<Registry['stats']>

/** An API Gateway HTTP API (payload 2.0) event. */
function httpEvent(method: string, path: string, body?: unknown) {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: { host: 'abc123.execute-api.eu-west-1.amazonaws.com', 'content-type': 'application/json' },
    requestContext: {
      domainName: 'abc123.execute-api.eu-west-1.amazonaws.com',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1' },
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    isBase64Encoded: false,
  }
}

const dir = bundleDir('lambda')
let gateway: NeonWsGateway
let bundlePath: string

beforeAll(async () => {
  if (!pgUp) return
  gateway = await startNeonWsGateway()
  bundlePath = await dir.build('aws-lambda', 'aws-lambda/handler.mjs')
})
afterAll(async () => {
  await gateway?.close()
  dir.remove()
})

describe.skipIf(!pgUp)('AWS Lambda (lambda-local)', () => {
  let fn: LambdaModule

  beforeAll(async () => {
    // Lambda sets these before init; the registry is built at import, as in a real deployment.
    Object.assign(process.env, {
      AWS_LAMBDA_FUNCTION_NAME: 'notes',
      DATABASE_URL: wsUrl(APP),
      NEON_WS_PROXY: gateway.wsProxy,
    })
    fn = await importBundle<LambdaModule>(bundlePath)
    lambdaLocal.setLogger(silent)
  })
  afterAll(async () => {
    await fn?.registry.disconnect()
    await waitForConnectionCount(0, APP)
  })

  it('50 warm invocations create one driver client and turn callbackWaitsForEmptyEventLoop off', async () => {
    gateway.resetCounters()
    const contexts: { callbackWaitsForEmptyEventLoop: boolean }[] = []
    const results: HttpApiResult[] = []
    for (let i = 0; i < 50; i++) {
      const event = i % 5 === 0 ? httpEvent('POST', '/notes', { body: `lambda ${i}` }) : httpEvent('GET', '/notes')
      results.push(
        (await lambdaLocal.execute({
          lambdaFunc: fn,
          lambdaHandler: 'handler',
          event,
          timeoutMs: 10_000,
          verboseLevel: 3,
          contextOverwrite: (ctx: { callbackWaitsForEmptyEventLoop: boolean }) => {
            ctx.callbackWaitsForEmptyEventLoop = true // Lambda's default
            contexts.push(ctx)
          },
        })) as HttpApiResult,
      )
    }
    expect(results.map((r) => r.statusCode)).toEqual(Array.from({ length: 50 }, (_, i) => (i % 5 === 0 ? 201 : 200)))
    expect(JSON.parse(results[1]!.body)).toEqual(
      expect.arrayContaining([expect.objectContaining({ body: 'lambda 0' })]),
    )
    expect(results[1]!.headers['content-type']).toMatch(/application\/json/)
    expect(contexts.map((c) => c.callbackWaitsForEmptyEventLoop)).toEqual(Array(50).fill(false))
    const stats = fn.registry.stats()
    expect(stats.platform).toBe('aws-lambda')
    expect(stats.invocations).toMatchObject({ total: 50, cold: 1 })
    expect(stats.databases.default).toMatchObject({
      driver: 'neon-ws',
      scope: 'warm',
      connects: 1,
      closes: 0,
      errors: 0,
    })
    expect(gateway.connectionsOpened).toBe(1)
    expect(await waitForConnectionCount(1, APP)).toBe(1)
  })
})

describe.skipIf(!pgUp)('AWS Lambda freeze harness (child process, SIGSTOP/SIGCONT)', () => {
  const FREEZE_APP = `${APP}-freeze`
  const IDLE_TIMEOUT_MS = 300
  let child: ChildProcess
  let nextId = 0
  const replies = new Map<number, (reply: Reply) => void>()
  interface Reply {
    id: number
    result?: HttpApiResult
    error?: string
    callbackWaitsForEmptyEventLoop?: boolean
    stats: Stats
  }

  const holding = new Map<number, () => void>()

  function invoke(event: unknown, holdMs?: number, onHolding?: () => void): Promise<Reply> {
    const id = ++nextId
    const reply = new Promise<Reply>((resolve, reject) => {
      replies.set(id, resolve)
      setTimeout(() => reject(new Error(`invocation ${id} got no reply in 10 s`)), 10_000).unref()
    })
    if (onHolding !== undefined) holding.set(id, onHolding)
    child.send({ id, event, holdMs })
    return reply
  }

  /** Frozen until the child's state letter says stopped (SIGSTOP is asynchronous). */
  async function freeze(): Promise<void> {
    child.kill('SIGSTOP')
    for (let i = 0; i < 1000 && !/\) T /.test(readFileSync(`/proc/${child.pid}/stat`, 'utf8')); i++) await sleep(1)
  }

  beforeAll(async () => {
    const harness = fileURLToPath(new URL('./fixtures/lambda-child.mjs', import.meta.url))
    child = fork(harness, [bundlePath], {
      env: {
        ...process.env,
        AWS_LAMBDA_FUNCTION_NAME: 'notes-freeze',
        DATABASE_URL: wsUrl(FREEZE_APP),
        NEON_WS_PROXY: gateway.wsProxy,
        LAZYDB_IDLE_TIMEOUT_MS: String(IDLE_TIMEOUT_MS),
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    await new Promise<void>((resolve, reject) => {
      child.once('error', reject)
      child.once('exit', (code) => reject(new Error(`the harness exited with ${code}`)))
      child.on('message', (message: Reply & { ready?: boolean; holding?: boolean }) => {
        if (message.ready) return resolve()
        if (message.holding) {
          holding.get(message.id)?.()
          holding.delete(message.id)
          return
        }
        replies.get(message.id)?.(message)
        replies.delete(message.id)
      })
    })
  })
  afterAll(async () => {
    if (child !== undefined && child.exitCode === null) {
      child.kill('SIGCONT')
      child.kill('SIGKILL')
    }
    await waitForConnectionCount(0, FREEZE_APP)
  })

  it(
    'a freeze longer than the idle timeout, with the socket dropped meanwhile: ' +
      'the next invocation reconnects without an error',
    async () => {
      gateway.resetCounters()
      const first = await invoke(httpEvent('GET', '/notes'))
      expect(first.error).toBeUndefined()
      expect(first.result!.statusCode).toBe(200)
      expect(first.callbackWaitsForEmptyEventLoop).toBe(false)
      expect(first.stats.platform).toBe('aws-lambda')
      expect(first.stats.databases.default).toMatchObject({ driver: 'neon-ws', scope: 'warm', connects: 1, errors: 0 })
      expect(gateway.openConnections).toBe(1)

      // Freeze, as Lambda does once the invocation has returned. The far side drops the idle socket
      // while the process cannot see it, and the freeze outlasts the idle timeout (timers stop too).
      child.kill('SIGSTOP')
      gateway.dropAll()
      await sleep(IDLE_TIMEOUT_MS * 3)
      expect(gateway.openConnections).toBe(0)
      child.kill('SIGCONT')

      // Thaw straight into the next invocation.
      const second = await invoke(httpEvent('GET', '/notes'))
      expect(second.error).toBeUndefined()
      expect(second.result!.statusCode).toBe(200)
      expect(JSON.parse(second.result!.body)).toBeInstanceOf(Array)
      expect(second.stats.databases.default).toMatchObject({ connects: 2, errors: 0 })
      expect(second.stats.invocations).toMatchObject({ total: 2, cold: 1 })
      console.log(
        '[lambda freeze] stats after thaw:',
        JSON.stringify(second.stats.databases.default),
        `gateway connections opened: ${gateway.connectionsOpened}`,
      )

      // Still warm afterwards: a third invocation reuses the new connection.
      const third = await invoke(httpEvent('GET', '/notes'))
      expect(third.result!.statusCode).toBe(200)
      expect(third.stats.databases.default).toMatchObject({ connects: 2, errors: 0 })
      expect(gateway.connectionsOpened).toBe(2)
    },
  )

  it(
    'a freeze longer than the idle timeout with the socket still open, thawed with no event waiting: ' +
      'the idle timer closes it before the next invocation, which reconnects',
    async () => {
      gateway.resetCounters()
      const before = await invoke(httpEvent('GET', '/notes'))
      expect(before.error).toBeUndefined()
      const { connects, closes } = before.stats.databases.default!
      expect(gateway.openConnections).toBe(1)

      // Nothing drops the socket; timers stop while frozen, so it is still open at the thaw …
      await freeze()
      await sleep(IDLE_TIMEOUT_MS * 2)
      expect(gateway.openConnections).toBe(1)
      child.kill('SIGCONT')
      // … and with no invocation waiting, the idle timer (due since the freeze) closes it.
      await expect.poll(() => gateway.openConnections, { timeout: 2000 }).toBe(0)

      const after = await invoke(httpEvent('GET', '/notes'))
      expect(after.error).toBeUndefined()
      expect(after.result!.statusCode).toBe(200)
      expect(after.stats.databases.default).toMatchObject({ connects: connects + 1, closes: closes + 1, errors: 0 })
      expect(gateway.connectionsOpened).toBe(1)
      await expect.poll(() => gateway.openConnections).toBe(1)
    },
  )

  it(
    'a freeze longer than the idle timeout with the socket still open, the next event taken in before the ' +
      'thaw: the stale check replaces the connection before the invocation uses it',
    async () => {
      gateway.resetCounters()
      const before = await invoke(httpEvent('GET', '/notes'))
      expect(before.error).toBeUndefined()
      const { connects, closes } = before.stats.databases.default!
      expect(gateway.openConnections).toBe(1)

      // The child takes the event in and holds its thread (no timer runs) while it is frozen past the
      // idle timeout; on thaw the invocation runs first, with the idle timer due but not yet run.
      let taken!: () => void
      const held = new Promise<void>((resolve) => (taken = resolve))
      const reply = invoke(httpEvent('GET', '/notes'), IDLE_TIMEOUT_MS, taken)
      await held
      await freeze()
      await sleep(IDLE_TIMEOUT_MS * 2)
      expect(gateway.openConnections).toBe(1)
      child.kill('SIGCONT')
      const after = await reply

      expect(after.error).toBeUndefined()
      expect(after.result!.statusCode).toBe(200)
      // Replaced by the invocation itself: a new driver client and the old one closed, both counted in
      // the reply sent right after the call — the idle timer's re-armed wait (300 ms) has not run out yet.
      expect(after.stats.databases.default).toMatchObject({ connects: connects + 1, closes: closes + 1, errors: 0 })
      expect(gateway.connectionsOpened).toBe(1)
      await expect.poll(() => gateway.openConnections).toBe(1)
    },
  )
})
