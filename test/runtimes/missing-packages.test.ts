// What a user sees when an optional peer is not installed: the built package is installed into a
// temporary node_modules that holds @neondatabase/serverless and nothing else (no ws, no
// @planetscale/database, no @libsql/client), and run by a real Node 20 (no global WebSocket).
// Nothing here reaches a server: every error comes before any connection.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { cpSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { tempDir } from '../support/tmp.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const project = tempDir('lazydb-missing-')

beforeAll(() => {
  const pkg = `${project.dir}/node_modules/@lazydb/core`
  mkdirSync(pkg, { recursive: true })
  cpSync(`${root}dist`, `${pkg}/dist`, { recursive: true })
  cpSync(`${root}package.json`, `${pkg}/package.json`)
  mkdirSync(`${project.dir}/node_modules/@neondatabase`, { recursive: true })
  symlinkSync(
    `${root}node_modules/@neondatabase/serverless`,
    `${project.dir}/node_modules/@neondatabase/serverless`,
    'dir',
  )
  writeFileSync(`${project.dir}/package.json`, '{ "type": "module" }\n')
})
afterAll(() => project.remove())

/** Runs `body` as an ES module in the temporary project; resolves with what it printed as JSON. */
async function inProject(body: string): Promise<Record<string, unknown>> {
  const file = project.file(`probe-${Math.random().toString(36).slice(2)}.mjs`)
  writeFileSync(
    file,
    `import { Registry, LazyDbError } from '@lazydb/core'\nconst out = {}\n${body}\nconsole.log(JSON.stringify(out))\n`,
  )
  const { stdout } = await promisify(execFile)(process.execPath, [file], { cwd: project.dir, timeout: 20_000 })
  return JSON.parse(stdout.trim().split('\n').at(-1)!)
}

const caught = `(e) => ({ lazy: e instanceof LazyDbError, code: e.code, database: e.database, message: e.message })`

describe('optional packages missing (built package, real Node)', () => {
  it(
    'a URL whose driver package is not installed fails with DRIVER_MISSING ' + 'and the install command, at first use',
    async () => {
      const out = await inProject(`
      const registry = new Registry({ database: 'mysql://app:s3cretpw@aws.connect.psdb.cloud/app', warn: false })
      out.connectsAfterConstruction = registry.stats().databases.default.connects
      out.error = await registry.database.query('select 1').then(() => null, ${caught})
      const memory = new Registry({ database: ':memory:', warn: false })
      out.libsql = await memory.database.query('select 1').then(() => null, ${caught})
    `)
      expect(out.connectsAfterConstruction).toBe(0)
      expect(out.error).toMatchObject({ lazy: true, code: 'DRIVER_MISSING', database: 'default' })
      expect((out.error as { message: string }).message).toContain('npm install @planetscale/database')
      expect((out.error as { message: string }).message).not.toContain('s3cretpw')
      expect(out.libsql).toMatchObject({ lazy: true, code: 'DRIVER_MISSING' })
      expect((out.libsql as { message: string }).message).toContain('npm install @libsql/client')
    },
  )

  it(
    'neon-http without any WebSocket: transaction() fails with TRANSACTION_UNSUPPORTED saying what to do; ' +
      'neon-ws with DRIVER_MISSING naming ws',
    async () => {
      const out = await inProject(`
      await import('@lazydb/core/neon')
      const registry = new Registry({
        database: 'postgres://app:s3cretpw@ep-x.neon.tech/app',
        extra: { ws: 'postgres://app:s3cretpw@ep-x.neon.tech/app?transport=ws' },
        warn: false,
      })
      out.tx = await registry.database.transaction(async (tx) => tx.query('select 1')).then(() => null, ${caught})
      out.ws = await registry.using('ws').query('select 1').then(() => null, ${caught})
      out.stats = registry.stats().databases
    `)
      expect(out.tx).toMatchObject({ lazy: true, code: 'TRANSACTION_UNSUPPORTED', database: 'default' })
      expect((out.tx as { message: string }).message).toMatch(/npm install ws.*webSocketConstructor.*batch\(\)/)
      expect(out.ws).toMatchObject({ lazy: true, code: 'DRIVER_MISSING', database: 'ws' })
      expect((out.ws as { message: string }).message).toContain('npm install ws')
      expect(JSON.stringify(out)).not.toContain('s3cretpw')
      expect(out.stats).toMatchObject({ ws: { connects: 0 } })
    },
  )
})
