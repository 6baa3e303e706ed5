// Runtime detection (which picks the default lifetimes), and the Cloudflare adapter's scheduled and
// queue events, each scoped like a request (the fetch path runs in workerd: test/runtimes/workerd).
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest'
import { Registry } from '@lazydb/core'
import { withRegistry } from '@lazydb/core/cloudflare'
import { tempDir } from '../support/tmp.js'

const dirs = tempDir('lazydb-platforms-')
afterAll(() => dirs.remove())

const PLATFORM_VARS = ['AWS_LAMBDA_FUNCTION_NAME', 'NETLIFY', 'VERCEL', 'VERCEL_ENV']

/** detectPlatform() from a freshly evaluated module (it reads the runtime once per module). */
async function detectWith(env: Record<string, string>, globals: Record<string, unknown> = {}): Promise<string> {
  for (const name of PLATFORM_VARS) vi.stubEnv(name, env[name])
  for (const [name, value] of Object.entries(globals)) vi.stubGlobal(name, value)
  vi.resetModules()
  const { detectPlatform, Registry: FreshRegistry } = await import('@lazydb/core')
  const detected = detectPlatform()
  // The registry reports what detection chose, and its default lifetimes follow it.
  expect(new FreshRegistry({ database: 'postgres://u:p@h/db?transport=ws' }).stats().platform).toBe(detected)
  return detected
}

describe('detectPlatform', () => {
  afterEach(() => {
    vi.unstubAllEnvs()
    vi.unstubAllGlobals()
  })

  it(
    'tells Netlify and Vercel from plain Lambda, ' + 'though both run on Lambda and set AWS_LAMBDA_FUNCTION_NAME',
    async () => {
      expect(await detectWith({ AWS_LAMBDA_FUNCTION_NAME: 'fn', NETLIFY: 'true' })).toBe('netlify')
      expect(await detectWith({ AWS_LAMBDA_FUNCTION_NAME: 'fn', VERCEL: '1' })).toBe('vercel-node')
      expect(await detectWith({ AWS_LAMBDA_FUNCTION_NAME: 'fn', VERCEL_ENV: 'production' })).toBe('vercel-node')
      expect(await detectWith({ AWS_LAMBDA_FUNCTION_NAME: 'fn' })).toBe('aws-lambda')
      expect(await detectWith({})).toBe('node')
    },
  )

  it('recognises Workers and Vercel Edge by their globals, before any environment variable', async () => {
    expect(
      await detectWith({ AWS_LAMBDA_FUNCTION_NAME: 'fn' }, { navigator: { userAgent: 'Cloudflare-Workers' } }),
    ).toBe('cloudflare')
    expect(await detectWith({ VERCEL: '1' }, { navigator: undefined, EdgeRuntime: 'edge-runtime' })).toBe('vercel-edge')
  })
})

describe('@lazydb/core/cloudflare: scheduled and queue events', () => {
  it('each event opens its request-scoped connection on first use and closes it through ctx.waitUntil', async () => {
    const closes: string[] = []
    const registry = new Registry({
      database: { url: `file:${dirs.file('cron.db')}`, scope: 'request' },
      platform: 'cloudflare',
      on: { close: (e) => closes.push(e.reason) },
    })
    await registry.connect()
    await registry.database.query('create table runs (kind text, item text)')
    await registry.disconnect()
    closes.length = 0

    const worker = withRegistry((env: { TAG: string }) => (env.TAG === 'cron' ? registry : undefined!), {
      async scheduled(controller, env) {
        await registry.database.query('insert into runs values (?, ?)', [
          env.TAG,
          (controller as { cron: string }).cron,
        ])
      },
      async queue(batch) {
        for (const message of (batch as { messages: { body: string }[] }).messages)
          await registry.database.query('insert into runs values (?, ?)', ['queue', message.body])
      },
    })
    expect(Object.keys(worker).sort()).toEqual(['queue', 'scheduled'])

    const waited: Promise<unknown>[] = []
    const ctx = { waitUntil: (p: Promise<unknown>) => void waited.push(p) }
    const connectsBefore = registry.stats().databases.default!.connects

    await worker.scheduled!({ cron: '*/5 * * * *', scheduledTime: Date.now() }, { TAG: 'cron' }, ctx)
    expect(waited).toHaveLength(1)
    await Promise.all(waited.splice(0))
    expect(closes).toEqual(['request-end'])

    await worker.queue!({ messages: [{ body: 'a' }, { body: 'b' }, { body: 'c' }] }, { TAG: 'cron' }, ctx)
    expect(waited).toHaveLength(1)
    await Promise.all(waited.splice(0))
    expect(closes).toEqual(['request-end', 'request-end'])

    // One connection per event (three queue messages shared one), each closed after its event.
    expect(registry.stats().databases.default).toMatchObject({
      scope: 'request',
      connects: connectsBefore + 2,
      errors: 0,
    })
    expect(registry.stats().invocations.total).toBe(2)
    expect(registry.database.isConnected).toBe(false)
    await registry.connect()
    const { rows } = await registry.database.query<{ kind: string; item: string }>(
      'select kind, item from runs order by rowid',
    )
    expect(rows.map((r) => `${r.kind}:${r.item}`)).toEqual(['cron:*/5 * * * *', 'queue:a', 'queue:b', 'queue:c'])
    await registry.disconnect()
  })
})
