// @lazydb/core/node's entry points check their arguments at once and say the fix (INVALID_ARGUMENT), before
// any listener, connection or hook is set up.
import { describe, expect, it } from 'vitest'
import { Registry } from '@lazydb/core'
import { lazydb, lazydbPlugin, lifespan } from '@lazydb/core/node'

const registry = () => new Registry({ database: ':memory:', warn: false })
const invalid = (pattern: RegExp) =>
  expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(pattern) })

describe('@lazydb/core/node arguments', () => {
  it('lifespan: a Registry, a server with close(), signal names, drainMs in range', () => {
    const before = process.listenerCount('SIGTERM')
    expect(() => lifespan({} as Registry)).toThrow(invalid(/must be a Registry/))
    expect(() => lifespan(registry(), 'x' as never)).toThrow(invalid(/options must be an object/))
    expect(() => lifespan(registry(), { server: {} as never })).toThrow(invalid(/close\(\) method/))
    expect(() => lifespan(registry(), { signals: ['TERM' as never] })).toThrow(invalid(/signal names/))
    expect(() => lifespan(registry(), { drainMs: -1 })).toThrow(invalid(/drainMs/))
    expect(() => lifespan(registry(), { drainMs: Number.NaN })).toThrow(invalid(/drainMs/))
    expect(process.listenerCount('SIGTERM')).toBe(before) // nothing was installed
  })

  it('lifespan: signals listened to until closed, then removed', async () => {
    const r = registry()
    const before = process.listenerCount('SIGUSR2')
    const handle = lifespan(r, { signals: ['SIGUSR2'] })
    expect(process.listenerCount('SIGUSR2')).toBe(before + 1)
    await handle.ready
    expect(await handle.close()).toEqual({ drained: true })
    expect(process.listenerCount('SIGUSR2')).toBe(before)
    expect(lifespan(r, { signals: [] })).not.toBe(handle) // a closed lifespan is not handed out again
    await lifespan(r, { signals: [] }).close()
  })

  it('the Express middleware and the Fastify plugin need a Registry and their framework', async () => {
    expect(() => lazydb(undefined as never)).toThrow(invalid(/must be a Registry/))
    const middleware = lazydb(registry())
    expect(() => middleware({}, {} as never, () => undefined)).toThrow(invalid(/without a response and next/))
    await expect(lazydbPlugin({} as never, {} as never)).rejects.toEqual(invalid(/options.registry/))
  })
})
