import { describe, expect, it } from 'vitest'
import { handler, LazyDbError, Registry, type LazyDbErrorCode } from '@lazydb/core'
import { withRegistry } from '@lazydb/core/cloudflare'
import { lazydb } from '@lazydb/core/hono'
import { libsql } from '@lazydb/core/libsql'
import { neon } from '@lazydb/core/neon'
import { planetscale } from '@lazydb/core/planetscale'
import { thrown } from '../support/thrown.js'

// Construct only: nothing here opens a connection (':memory:' libSQL is never queried).

async function rejected(promise: Promise<unknown>): Promise<LazyDbError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(LazyDbError)
  return error as LazyDbError
}

function expectFix(error: LazyDbError, code: LazyDbErrorCode, names: string | RegExp): void {
  expect(error.code).toBe(code)
  if (typeof names === 'string') expect(error.message).toContain(names)
  else expect(error.message).toMatch(names)
  expect(error.message).toMatch(/\b(Pass|Use|Set|Call|Register|Export)\b/)
}

const registry = new Registry({ database: ':memory:', warn: false })
const fetch = async () => new Response('ok')
const next = async () => undefined

describe('cloudflare withRegistry', () => {
  it.each([
    ['a number as the registry', () => withRegistry(5 as never, { fetch }), 'first argument'],
    ['null as the registry', () => withRegistry(null as never, { fetch }), 'first argument'],
    ['null handlers', () => withRegistry(() => registry, null as never), 'second argument'],
    ['no handlers at all', () => withRegistry(() => registry, undefined as never), 'second argument'],
    ['a string handlers', () => withRegistry(() => registry, 'fetch' as never), 'second argument'],
    [
      'fetch that is not a function',
      () => withRegistry(() => registry, { fetch: 5 as never }),
      'fetch must be a function',
    ],
    [
      'scheduled: null',
      () => withRegistry(() => registry, { scheduled: null as never }),
      'scheduled must be a function',
    ],
    ['an empty handlers object', () => withRegistry(() => registry, {}), 'no handler'],
    ['a handler it would drop', () => withRegistry(() => registry, { fetch, email: fetch } as never), '"email"'],
  ])('rejects %s with INVALID_ARGUMENT at the call', (_what, call, names) => {
    const error = thrown(call)
    expectFix(error, 'INVALID_ARGUMENT', names)
    expect(error.message).toContain('withRegistry')
  })

  it('accepts a factory or a Registry, and wraps only the handlers given', async () => {
    const fromFactory = withRegistry(() => registry, { fetch })
    expect(Object.keys(fromFactory)).toEqual(['fetch'])
    const direct = withRegistry(registry, { fetch, queue: async () => undefined })
    expect(Object.keys(direct).sort()).toEqual(['fetch', 'queue'])
    const ctx = { waitUntil: () => undefined }
    expect(await (await direct.fetch!(new Request('http://x/'), {}, ctx)).text()).toBe('ok')
  })
})

describe('hono lazydb', () => {
  it.each([
    ['a number', 5],
    ['null', null],
    ['a registry factory', () => registry],
  ])('rejects %s as the registry at lazydb() time', (_what, value) => {
    expectFix(
      thrown(() => lazydb(value as never)),
      'INVALID_ARGUMENT',
      'must be a Registry',
    )
  })

  it('rejects a call without a context or next() as a LazyDbError, not a TypeError', async () => {
    const middleware = lazydb(registry)
    expectFix(await rejected(middleware(null as never, next)), 'INVALID_ARGUMENT', 'Hono context')
    expectFix(
      await rejected(middleware({ set: () => undefined } as never, undefined as never)),
      'INVALID_ARGUMENT',
      'next()',
    )
  })
})

describe('driver factories', () => {
  const url = 'postgres://user@host.example/db'
  it.each([
    [
      'planetscale(url, 5)',
      () => planetscale('mysql://u@host.example/db', 5 as never),
      'planetscale() options',
      'number',
    ],
    [
      'planetscale(url, [])',
      () => planetscale('mysql://u@host.example/db', [] as never),
      'planetscale() options',
      'an array',
    ],
    ['libsql(url, "x")', () => libsql(':memory:', 'x' as never), 'libsql() options', 'a string'],
    ['libsql(url, true)', () => libsql(':memory:', true as never), 'libsql() options', 'boolean'],
    ['neon(url, null)', () => neon(url, null as never), 'neon() options', 'null'],
    ['neon(url, 5)', () => neon(url, 5 as never), 'neon() options', 'number'],
  ])('%s throws CONFIG_INVALID', (_label, call, names, got) => {
    const error = thrown(call)
    expectFix(error, 'CONFIG_INVALID', names)
    expect(error.message).toContain(`got ${got}`)
  })

  it.each([
    ['planetscale(5)', () => planetscale(5 as never)],
    ['libsql(5)', () => libsql(5 as never)],
    ['neon(5)', () => neon(5 as never)],
    ['neon(Symbol())', () => neon(Symbol('url') as never)],
    ['neon(undefined)', () => neon(undefined as never)],
  ])('%s (a URL that is not a string) throws CONFIG_INVALID naming url', (_label, call) => {
    expectFix(thrown(call), 'CONFIG_INVALID', '"url"')
  })

  it('still builds with the options left out or given as an object', () => {
    const built = {
      ps: planetscale('mysql://u@host.example/db'),
      mem: libsql(':memory:', {}),
      ws: neon(url, { driver: 'neon-ws' }),
      http: neon(url),
    }
    // Each factory gives the database it was asked for: its driver (an option given as an object
    // applies), its URL, no client yet — and a registry takes it as it is.
    expect(Object.values(built).map((db) => [db.driver, db.url, db.isConnected])).toEqual([
      ['planetscale', 'mysql://u@host.example/db', false],
      ['libsql', ':memory:', false],
      ['neon-ws', url, false],
      ['neon-http', url, false],
    ])
    const { mem, ...extra } = built
    const registry = new Registry({ database: mem, extra, platform: 'cloudflare', warn: false })
    expect(registry.database).toBe(mem)
    expect(registry.extra).toEqual(extra)
    expect(Object.entries(registry.stats().databases).map(([name, d]) => [name, d.driver, d.scope])).toEqual([
      ['default', 'libsql', 'warm'],
      ['ps', 'planetscale', 'warm'],
      ['ws', 'neon-ws', 'request'], // a socket on Workers is request-scoped
      ['http', 'neon-http', 'warm'],
    ])
  })
})

describe('libSQL options are checked at construction', () => {
  it.each([
    ['intMode', 5],
    ['intMode', 'Number'],
    ['authToken', 5],
    ['encryptionKey', {}],
    ['syncUrl', 1],
    ['syncInterval', -1],
    ['tls', 'yes'],
    ['readYourWrites', 1],
    ['offline', 'no'],
    ['concurrency', '20'],
    ['concurrency', Number.NaN],
    ['timeout', -5],
    ['fetch', 'fetch'],
    ['createClient', {}],
  ])('%s: %s → CONFIG_INVALID naming the option', (name, value) => {
    const error = thrown(
      () =>
        new Registry({
          database: libsql(':memory:', { [name]: value }),
          extra: { other: { url: ':memory:', [name]: value } },
        }),
    )
    expectFix(error, 'CONFIG_INVALID', `option ${name} must be`)
    expect(error.database).toBe('default')
  })

  it('names the alias of an extra database given as { url, … }', () => {
    const error = thrown(
      () => new Registry({ database: ':memory:', extra: { cache: { url: ':memory:', intMode: 'huge' } } }),
    )
    expectFix(error, 'CONFIG_INVALID', 'intMode')
    expect(error.database).toBe('cache')
  })

  it('never puts a wrongly typed secret in the message', () => {
    const secret = 'tok_Sup3rS3cret'
    const error = thrown(() => new Registry({ database: libsql(':memory:', { authToken: [secret] as never }) }))
    expectFix(error, 'CONFIG_INVALID', 'authToken')
    expect(error.message).not.toContain(secret)
  })

  it('accepts every option of the right type', async () => {
    const r = new Registry({
      database: libsql(':memory:', {
        intMode: 'bigint',
        tls: false,
        concurrency: 0,
        timeout: 100,
        authToken: 't',
        syncInterval: 5,
        offline: false,
        readYourWrites: true,
      }),
      warn: false,
    })
    const { rows } = await r.database.query<{ n: bigint }>('select 1 as n')
    expect(rows[0]!.n).toBe(1n)
    await r.disconnect()
  })
})

describe('handler options', () => {
  const fn = async () => 1
  it.each([
    ['eager: "yes"', { eager: 'yes' }, 'eager must be a boolean'],
    ['eager: 1', { eager: 1 }, 'eager must be a boolean'],
    ['eager: null', { eager: null }, 'eager must be a boolean'],
    ['an unknown option', { eagre: true }, 'unknown option "eagre"'],
    ['an array', [], 'options must be an object'],
  ])('rejects %s with INVALID_ARGUMENT', (_label, options, names) => {
    const error = thrown(() => handler(registry, fn, options as never))
    expectFix(error, 'INVALID_ARGUMENT', names)
    expect(error.message).toContain('handler')
  })

  it('accepts eager and timeoutMs of the right types', () => {
    expect(typeof handler(registry, fn, { eager: false, timeoutMs: 1000 })).toBe('function')
    expect(typeof handler(registry, fn, {})).toBe('function')
  })
})

describe('registry.disconnect options', () => {
  it.each([
    ['force: "yes"', { force: 'yes' }, 'force must be a boolean'],
    ['force: 1', { force: 1 }, 'force must be a boolean'],
    ['an unknown option', { forced: true }, 'unknown option "forced"'],
    ['an array', [], 'options must be an object'],
    ['null', null, 'options must be an object'],
  ])('rejects %s with INVALID_ARGUMENT', async (_label, options, names) => {
    const r = new Registry({ database: ':memory:', warn: false })
    const error = await rejected(r.disconnect(options as never))
    expectFix(error, 'INVALID_ARGUMENT', names)
    expect(error.message).toContain('disconnect')
  })

  it('accepts { force: true }, { force: false } and nothing', async () => {
    const r = new Registry({ database: ':memory:', warn: false })
    await expect(r.disconnect({ force: false })).resolves.toBeUndefined()
    await expect(r.disconnect({ force: true })).resolves.toBeUndefined()
    await expect(r.disconnect()).resolves.toBeUndefined()
  })
})

describe('Registry.fromEnv', () => {
  const password = 'pw_Xq7TopSecret'
  const mainUrl = `postgres://app:${password}@db.example.com/app`

  it('says DATABASE_URL is not a string (not that it is unset), without the value', () => {
    const error = thrown(() => Registry.fromEnv({ DATABASE_URL: 5 }))
    expectFix(error, 'CONFIG_INVALID', 'DATABASE_URL must be a URL string or a Hyperdrive binding (got number)')
    expect(error.message).not.toContain('not set')
    expect(error.database).toBe('default')
  })

  it.each([
    ['a number', 5, 'number'],
    ['an object that is no binding', { host: 'db.example', password }, 'an object'],
    ['null', null, 'null'],
  ])('names DATABASE_URL_<NAME> holding %s, and never the secrets', (_what, value, got) => {
    const error = thrown(() => Registry.fromEnv({ DATABASE_URL: mainUrl, DATABASE_URL_X: value }))
    expectFix(error, 'CONFIG_INVALID', `DATABASE_URL_X must be a URL string or a Hyperdrive binding (got ${got})`)
    expect(error.database).toBe('x')
    expect(error.message).not.toContain(password)
    expect(JSON.stringify(error)).not.toContain(password)
  })

  it('still says DATABASE_URL is not set when it is missing or undefined', () => {
    expectFix(
      thrown(() => Registry.fromEnv({ DATABASE_URL: undefined, OTHER: 1 })),
      'CONFIG_INVALID',
      'DATABASE_URL is not set',
    )
  })

  it.each([
    ['null', null],
    ['a number', 5],
  ])('rejects %s as options', (_what, options) => {
    expectFix(
      thrown(() => Registry.fromEnv({ DATABASE_URL: ':memory:' }, options as never)),
      'CONFIG_INVALID',
      'Registry.fromEnv() options',
    )
  })
})

describe('Registry.fromEnv options that cannot be a cache key', () => {
  it('a BigInt option is a CONFIG_INVALID, not a TypeError from JSON.stringify', () => {
    expectFix(
      thrown(() => Registry.fromEnv({ DATABASE_URL: ':memory:' }, { retry: { attempts: 1n as never } })),
      'CONFIG_INVALID',
      'plain data',
    )
  })
})
