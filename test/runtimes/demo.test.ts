// The main job, as `npm start` runs it: the node bundle of the notes app served over HTTP on the
// embedded libSQL default (file:.data/demo.db, relative to the working directory, created on first
// use). Run from an empty directory in a child process, on a free port, stopped with SIGTERM.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { buildFunction } from './helpers.js'
import { tempDir } from '../support/tmp.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
// Inside the project, so the bundle's external packages resolve from its node_modules.
const bundle = `${root}functions/dist/test-demo-${process.pid}/server.mjs`
const cwd = tempDir('lazydb-demo-')
let server: ChildProcess
let origin: string

beforeAll(async () => {
  await buildFunction('node', { out: bundle, metafilePath: false })
  const env: Record<string, string | undefined> = { ...process.env, PORT: '0' }
  delete env.DATABASE_URL
  server = spawn(process.execPath, [bundle], { cwd: cwd.dir, env, stdio: ['ignore', 'pipe', 'pipe'] })
  origin = await new Promise<string>((resolve, reject) => {
    let out = ''
    server.stdout!.on('data', (chunk: Buffer) => {
      out += chunk
      const found = /lazydb demo on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)
      if (found) resolve(found[1]!)
    })
    server.once('exit', (code) => reject(new Error(`the demo exited with ${code}: ${out}`)))
    setTimeout(() => reject(new Error(`the demo did not start: ${out}`)), 15_000).unref()
  })
})

afterAll(() => {
  if (server?.exitCode === null) server.kill('SIGKILL')
  rmSync(`${root}functions/dist/test-demo-${process.pid}`, { recursive: true, force: true })
  cwd.remove()
})

describe('the demo (npm start): notes API on the embedded libSQL default', () => {
  it('adds and lists notes; /stats shows one cold invocation and one connection serving them all', async () => {
    const posted = await fetch(`${origin}/notes`, {
      method: 'POST',
      body: JSON.stringify({ body: 'hello from the test' }),
    })
    expect(posted.status).toBe(201)
    expect(await posted.json()).toEqual({ inserted: 1, id: '1' })
    expect(existsSync(cwd.file('.data/demo.db'))).toBe(true)

    const bad = await fetch(`${origin}/notes`, { method: 'POST', body: 'not json' })
    expect(bad.status).toBe(400)

    for (let i = 0; i < 5; i++) {
      const listed = (await (await fetch(`${origin}/notes`)).json()) as { id: number; body: string }[]
      expect(listed.map((n) => [n.id, n.body])).toEqual([[1, 'hello from the test']])
    }
    const stats = (await (await fetch(`${origin}/stats`)).json()) as {
      platform: string
      invocations: { total: number; cold: number }
      databases: Record<string, { driver: string; scope: string; connects: number; errors: number }>
    }
    expect(stats.platform).toBe('node')
    expect(stats.invocations).toEqual({ total: 8, cold: 1 })
    expect(stats.databases.default).toMatchObject({ driver: 'libsql', scope: 'warm', connects: 1, errors: 0 })
  })

  it('stops cleanly on SIGTERM (the registry disconnects first)', async () => {
    const exited = new Promise<number | null>((resolve) => server.once('exit', resolve))
    server.kill('SIGTERM')
    expect(await exited).toBe(0)
  })
})
