// The Netlify example (functions/netlify/notes.ts), built as `npm run build:functions` builds it,
// served by Netlify's own emulator (@netlify/dev's NetlifyDev, offline) from a temporary project
// laid out as the repository's netlify.toml describes. NetlifyDev runs a v2 function the way the
// Netlify CLI does: Netlify's production bootstrap (@netlify/serverless-functions-api) under
// lambda-local, in a new worker thread for every request, so each request loads the function
// afresh. libSQL over HTTP through the Hrana gateway. A probe (fixtures/netlify-probe.ts) reports
// what lazydb did inside an invocation; test/runtimes/netlify.test.ts calls the function directly.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { copyFileSync, cpSync } from 'node:fs'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { NetlifyDev, type ResponseType } from '@netlify/dev'
import { startHranaGateway, type HranaGateway } from '../support/hrana-gateway.js'
import type { ProbeReport } from './fixtures/netlify-probe.js'
import { bundleDir, targets } from './helpers.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const SITE = 'http://localhost:8888'
const NOTE = 'from NetlifyDev: "quoted", ünïcode ✓'

const project = bundleDir('netlify-dev')
let gateway: HranaGateway
let dev: NetlifyDev

beforeAll(async () => {
  copyFileSync(`${root}netlify.toml`, project.file('netlify.toml'))
  cpSync(`${root}functions/netlify/public`, project.file('functions/netlify/public'), { recursive: true })
  await project.build('netlify', targets.netlify.out)
  await project.build('netlify', `${dirname(targets.netlify.out)}/probe.mjs`, {
    entry: 'test/runtimes/fixtures/netlify-probe.ts',
  })
  gateway = await startHranaGateway({ file: project.file('notes.db') })
  process.env.DATABASE_URL = gateway.url
  dev = new NetlifyDev({
    projectRoot: project.dir,
    // handle() throws without one; only edge functions and images would send requests to it.
    serverAddress: SITE,
    // Otherwise start() reads the Netlify CLI's login from ~/.config/netlify, creating that file.
    apiToken: '',
    skipGitignore: true,
    // Geolocation asks netlifind.netlify.app and edge functions download Deno from dl.deno.land.
    geolocation: { enabled: false },
    edgeFunctions: { enabled: false },
    aiGateway: { enabled: false },
    blobs: { enabled: false },
    database: { enabled: false },
    images: { enabled: false },
  })
  await dev.start()
})

afterEach(() => {
  vi.unstubAllEnvs()
})

afterAll(async () => {
  await dev?.stop()
  await gateway?.close()
  project.remove()
  delete process.env.DATABASE_URL
})

async function send(path: string, init?: RequestInit): Promise<{ type: ResponseType; response: Response }> {
  const result = await dev.handleAndIntrospect(new Request(new URL(path, SITE), init))
  if (result === undefined) throw new Error(`NetlifyDev matched nothing for ${path}`)
  return result
}

function probeReport(response: Response): ProbeReport {
  const header = response.headers.get('x-lazydb-probe')
  if (header === null) throw new Error(`no probe report (status ${response.status})`)
  return JSON.parse(header) as ProbeReport
}

describe('Netlify Functions v2 in NetlifyDev (@netlify/dev)', () => {
  it('serves the notes API on the config.path routes and the static page on /', async () => {
    const post = await send('/notes', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ body: NOTE }),
    })
    expect(post.type).toBe('function')
    expect(post.response.status).toBe(201)
    const inserted = (await post.response.json()) as { inserted: number; id: string }
    expect(inserted).toEqual({ inserted: 1, id: expect.stringMatching(/^\d+$/) })

    const list = await send('/notes')
    expect(list.type).toBe('function')
    expect(list.response.status).toBe(200)
    expect(await list.response.json()).toEqual([
      { id: Number(inserted.id), body: NOTE, created_at: expect.any(String) },
    ])

    const page = await send('/')
    expect(page.type).toBe('static')
    expect(await page.response.text()).toContain('<title>lazydb notes on Netlify</title>')
  })

  it('each request is a cold start: NetlifyDev loads the function afresh, so no warm state carries over', async () => {
    for (let i = 0; i < 2; i++) {
      const { type, response } = await send('/stats')
      expect(type).toBe('function')
      expect(await response.json()).toMatchObject({
        platform: 'netlify',
        invocations: { total: 1, cold: 1 },
        databases: { default: { driver: 'libsql', scope: 'warm', connects: 0 } },
      })
    }
  })

  it(
    'detects Netlify by the global its bootstrap installs, ' + 'ahead of the Lambda variable lambda-local sets',
    async () => {
      const { response } = await send('/probe/notes')
      expect(response.status).toBe(200)
      expect(probeReport(response)).toMatchObject({
        netlifyGlobal: true,
        env: { NETLIFY: null, AWS_LAMBDA_FUNCTION_NAME: expect.any(String) },
        stats: { platform: 'netlify' },
      })
    },
  )

  it('warm scope (libSQL over HTTP holds no socket): the client is kept and nothing goes to waitUntil', async () => {
    const { response } = await send('/probe/notes')
    expect(await response.json()).toEqual([expect.objectContaining({ body: NOTE })])
    expect(probeReport(response)).toMatchObject({
      waitUntilCalls: 0,
      stats: {
        invocations: { total: 1, cold: 1 },
        databases: { default: { scope: 'warm', connects: 1, closes: 0, errors: 0 } },
      },
    })
  })

  it(
    "request scope: the cleanup goes to the Context's waitUntil, " + 'and the connection is closed once it settles',
    async () => {
      vi.stubEnv('LAZYDB_SCOPE', 'request')
      const { response } = await send('/probe/notes')
      expect(await response.json()).toEqual([expect.objectContaining({ body: NOTE })])
      expect(probeReport(response)).toMatchObject({
        waitUntilCalls: 1,
        stats: { databases: { default: { scope: 'request', connects: 1, closes: 1, errors: 0 } } },
      })
    },
  )
})
