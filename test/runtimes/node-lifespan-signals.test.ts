// lifespan() and the process: a real Node server (test/runtimes/fixtures/lifespan-server.ts, set up as
// functions/node is, bundled the same way) in a child process, on an embedded libSQL file. 500 requests in
// flight when SIGTERM arrives: each completes (200, its row written), a connection opened after the signal is
// refused, the registry disconnects and the process exits with code 0 by itself. A second SIGTERM during the
// drain forces: the process exits at once with code 1, the stuck requests see their connection closed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn, type ChildProcess } from 'node:child_process'
import { request as httpRequest } from 'node:http'
import { rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { createClient } from '@libsql/client'
import { buildFunction } from './helpers.js'
import { tempDir } from '../support/tmp.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const outDir = `${root}functions/dist/test-lifespan-${process.pid}`
const bundle = `${outDir}/server.mjs`
const dirs = tempDir('lazydb-lifespan-signals-')

beforeAll(async () => {
  await buildFunction('node', { entry: 'test/runtimes/fixtures/lifespan-server.ts', out: bundle, metafilePath: false })
})
afterAll(() => {
  rmSync(outDir, { recursive: true, force: true })
  dirs.remove()
})

interface Child {
  process: ChildProcess
  port: number
  /** Resolves with the first printed event of this kind. */
  event(kind: string): Promise<Record<string, unknown>>
  exited: Promise<number | null>
}

async function start(database: string, env: Record<string, string>): Promise<Child> {
  const child = spawn(process.execPath, [bundle], {
    cwd: dirs.dir,
    env: { ...process.env, DATABASE_URL: database, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const events: Record<string, unknown>[] = []
  const waiters: (() => void)[] = []
  let buffered = ''
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk
    const lines = buffered.split('\n')
    buffered = lines.pop()!
    for (const line of lines) events.push(JSON.parse(line) as Record<string, unknown>)
    for (const wake of waiters.splice(0)) wake()
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const event = async (kind: string) => {
    for (;;) {
      const found = events.find((e) => e.event === kind)
      if (found !== undefined) return found
      await new Promise<void>((resolve) => waiters.push(resolve))
    }
  }
  const listening = await deadline(event('listening'), 10_000, 'the server to listen')
  return { process: child, port: listening.port as number, event, exited }
}

function deadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`waited ${ms} ms for ${what}`)), ms)
  })
  return Promise.race([promise, late]).finally(() => clearTimeout(timer))
}

/** One request on its own connection: "200 body", or "failed CODE" when the connection failed or closed. */
function get(port: number, path: string): Promise<string> {
  return new Promise((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = ''
      res.on('data', (chunk: Buffer) => (body += chunk))
      res.on('end', () => resolve(`${res.statusCode} ${body}`))
      res.on('error', (error: NodeJS.ErrnoException) => resolve(`failed ${error.code ?? error.message}`))
    })
    req.on('error', (error: NodeJS.ErrnoException) => resolve(`failed ${error.code ?? error.message}`))
    req.end()
  })
}

describe('a Node server under lifespan, signalled', () => {
  const children: ChildProcess[] = []
  afterAll(() => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })

  it('500 requests in flight at SIGTERM all complete, new connections are refused, exit code 0', async () => {
    const file = dirs.file('drain.db')
    const child = await start(`file:${file}`, { EXPECT_IN_FLIGHT: '500', DRAIN_MS: '20000' })
    children.push(child.process)
    const ids = Array.from({ length: 500 }, (_, i) => `r${i}`)
    const requests = ids.map((id) => get(child.port, `/hit/${id}`))
    await deadline(child.event('in-flight'), 15_000, 'all 500 requests to be in flight')
    child.process.kill('SIGTERM')
    await deadline(child.event('SIGTERM'), 5000, 'the signal')
    const late = await get(child.port, '/hit/late')
    expect(late).toMatch(/^failed (ECONNREFUSED|ECONNRESET)$/)
    const outcomes = await deadline(Promise.all(requests), 15_000, 'the requests')
    expect(outcomes).toEqual(ids.map((id) => `200 ${id}`))
    expect(await deadline(child.exited, 10_000, 'the process to exit')).toBe(0)
    const exit = await child.event('exit')
    // Disconnected before exit: the one warm client the lifespan connected at start was closed.
    expect(exit).toMatchObject({ code: 0, stats: { driver: 'libsql', connects: 1, closes: 1, errors: 0 } })
    const db = createClient({ url: `file:${file}` })
    try {
      const { rows } = await db.execute('select id from hits')
      expect(rows.map((r) => r.id).sort()).toEqual([...ids].sort())
    } finally {
      db.close()
    }
  })

  it('a second SIGTERM while draining forces: exit code 1; stuck requests see their sockets close', async () => {
    const child = await start(`file:${dirs.file('force.db')}`, { EXPECT_IN_FLIGHT: '20', DRAIN_MS: '60000' })
    children.push(child.process)
    const stuck = Array.from({ length: 20 }, () => get(child.port, '/stuck'))
    await deadline(child.event('in-flight'), 10_000, 'the twenty requests to be in flight')
    child.process.kill('SIGTERM')
    await deadline(child.event('SIGTERM'), 5000, 'the first signal')
    expect(child.process.exitCode).toBe(null) // draining: the stuck requests hold it, drainMs is a minute
    child.process.kill('SIGTERM')
    expect(await deadline(child.exited, 5000, 'the forced exit')).toBe(1)
    const outcomes = await deadline(Promise.all(stuck), 5000, 'the stuck requests')
    for (const outcome of outcomes) expect(outcome).toMatch(/^failed /)
    expect(await child.event('exit')).toMatchObject({ code: 1 })
  })
})
