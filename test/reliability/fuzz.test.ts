import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { LazyDbError, Registry } from '@lazydb/core'
import { exposed } from '../support/exposed.js'
import { closedPort } from '../support/ports.js'

// Every generated secret carries this marker, so a leak is found by searching for the secret itself.
const secretArb = fc.stringMatching(/^[A-Za-z0-9]{6,16}$/).map((s) => `Zq${s}Sx`)
const counts = { inputs: 0, accepted: 0, byCode: {} as Record<string, number> }

const schemeArb = fc.constantFrom(
  'postgres',
  'postgresql',
  'mysql',
  'libsql',
  'http',
  'https',
  'ws',
  'wss',
  'redis',
  'file',
  'POSTGRES',
  '',
  'postgres+ws',
)
const hostArb = fc.oneof(
  fc.domain(),
  fc.constantFrom('', '127.0.0.1', '[::1]', 'host:99999', 'a b', '@', '%zz'),
  fc.string({ maxLength: 12 }),
)
const urlArb = fc
  .record({
    scheme: schemeArb,
    user: fc.oneof(fc.constant(''), fc.stringMatching(/^[a-z]{1,8}$/), fc.string({ maxLength: 6 })),
    password: secretArb,
    token: fc.option(secretArb),
    host: hostArb,
    path: fc.oneof(fc.constant(''), fc.constant('/db'), fc.string({ maxLength: 10 })),
    query: fc.constantFrom('', '?transport=ws', '?sslmode=require', '?tls=0', '?a=1&b'),
    shape: fc.constantFrom('full', 'no-slashes', 'encoded', 'doubled-at'),
  })
  .map(({ scheme, user, password, token, host, path, query, shape }) => {
    const pw = shape === 'encoded' ? encodeURIComponent(password) : password
    const auth = shape === 'doubled-at' ? `${user}:${pw}@@` : `${user}:${pw}@`
    const sep = shape === 'no-slashes' ? ':' : '://'
    const tokenPart = token === null ? '' : `${query === '' ? '?' : '&'}authToken=${token}`
    return {
      url: `${scheme}${sep}${auth}${host}${path}${query}${tokenPart}`,
      secrets: token === null ? [password] : [password, token],
    }
  })

const valueArb = fc.oneof(
  fc.anything({ maxDepth: 2 }),
  fc.constantFrom(undefined, null, '', 0, [], {}, () => 1),
)
const configArb = fc.oneof(
  urlArb.map(({ url, secrets }) => ({ input: url as unknown, secrets })),
  fc
    .record({
      u: urlArb,
      driver: fc.oneof(fc.constantFrom('neon-http', 'neon-ws', 'planetscale', 'libsql'), valueArb),
      scope: fc.oneof(fc.constantFrom('warm', 'request'), valueArb),
      idle: valueArb,
      authToken: secretArb,
    })
    .map(({ u, driver, scope, idle, authToken }) => ({
      input: { url: u.url, driver, scope, idleTimeoutMs: idle, authToken } as unknown,
      secrets: [...u.secrets, authToken],
    })),
  valueArb.map((input) => ({ input, secrets: [] as string[] })),
)

function expectOnlyLazyDbError(call: () => unknown, secrets: readonly string[]): unknown {
  try {
    return call()
  } catch (error) {
    if (!(error instanceof LazyDbError)) throw new Error(`a non-LazyDbError escaped: ${String(error)}`)
    counts.byCode[error.code] = (counts.byCode[error.code] ?? 0) + 1
    const text = exposed(error)
    for (const secret of secrets) expect(text).not.toContain(secret)
    return undefined
  }
}

afterAll(() => {
  console.log(
    `fuzz: ${counts.inputs} inputs tried, ${counts.accepted} accepted, errors by code ${JSON.stringify(counts.byCode)}`,
  )
})

describe('property-based bad input', () => {
  it('registries from generated URLs and configs: only LazyDbError escapes, no secret anywhere', () => {
    fc.assert(
      fc.property(configArb, configArb, fc.string({ maxLength: 8 }), (main, extra, alias) => {
        counts.inputs++
        const registry = expectOnlyLazyDbError(
          () => new Registry({ database: main.input as never, extra: { [alias]: extra.input as never }, warn: false }),
          [...main.secrets, ...extra.secrets],
        ) as Registry | undefined
        if (registry === undefined) return
        counts.accepted++
        for (const db of [registry.database, ...Object.values(registry.extra)]) {
          for (const secret of [...main.secrets, ...extra.secrets]) expect(db.url).not.toContain(secret)
        }
        expect(JSON.stringify(registry.stats())).not.toMatch(/Zq[A-Za-z0-9]+Sx/)
      }),
      { numRuns: 6000 },
    )
  })

  it('generated schema names and names: identifiers pass, everything else is a LazyDbError', () => {
    const registry = new Registry({
      database: 'postgres://u:p@h.example/db',
      extra: { other: 'mysql://u:p@h.example/db' },
      warn: false,
    })
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 70 }), fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_$]{0,70}$/), valueArb),
        fc.oneof(fc.constantFrom(undefined, 'other', 'default'), fc.string({ maxLength: 6 }), valueArb),
        (schema, name) => {
          counts.inputs++
          const view = expectOnlyLazyDbError(() => registry.using(name as never, { schema: schema as never }), []) as
            | { schema?: string }
            | undefined
          if (view === undefined) return
          counts.accepted++
          if (schema !== undefined) expect(view.schema).toMatch(/^[A-Za-z_][A-Za-z0-9_$]{0,62}$/)
        },
      ),
      { numRuns: 4000 },
    )
  })

  it('generated arguments to query, batch and transaction reject with LazyDbError', async () => {
    const registry = new Registry({ database: ':memory:', warn: false })
    await fc.assert(
      fc.asyncProperty(valueArb, valueArb, async (a, b) => {
        counts.inputs++
        for (const call of [
          () => registry.database.query(a as never, b as never),
          () => registry.database.batch(a as never),
          () => registry.database.transaction(a as never, b as never),
        ]) {
          try {
            await call()
            counts.accepted++
          } catch (error) {
            if (!(error instanceof LazyDbError)) throw new Error(`a non-LazyDbError escaped: ${String(error)}`)
            counts.byCode[error.code] = (counts.byCode[error.code] ?? 0) + 1
          }
        }
      }),
      { numRuns: 500 },
    )
    await registry.disconnect()
  })

  it(
    'connect failures to generated URLs with secrets keep them out of every error, ' + 'warning and hook event',
    async () => {
      const port = await closedPort()
      let retryEvents = 0
      await fc.assert(
        fc.asyncProperty(
          secretArb,
          secretArb,
          fc.constantFrom('postgres', 'mysql', 'http'),
          async (password, token, scheme) => {
            counts.inputs++
            // A closed loopback port refuses at once: the driver's error is produced with the secrets in hand.
            const url = `${scheme}://user:${password}@127.0.0.1:${port}/db?authToken=${token}`
            // Used outside handler(), so NOT_CONNECTED is emitted; a refused connect is retried once. Every
            // warning, retry and error event is collected and searched for the secrets too.
            const events: string[] = []
            const registry = new Registry({
              database: { url, ...(scheme === 'http' ? { driver: 'planetscale' as const } : {}) },
              retry: { attempts: 2, baseDelayMs: 0 },
              on: {
                warning: (w) => events.push(`warning ${w.code} ${w.database} ${w.message}`),
                retry: (r) => events.push(`retry ${exposed(r.error)}`),
                error: (e) => events.push(`error ${exposed(e)}`),
              },
            })
            const error = await registry.database.query('select 1').catch((e: unknown) => e)
            if (!(error instanceof LazyDbError)) throw new Error(`expected a LazyDbError, got ${String(error)}`)
            counts.byCode[error.code] = (counts.byCode[error.code] ?? 0) + 1
            expect(events.filter((e) => e.startsWith('warning NOT_CONNECTED'))).toHaveLength(1)
            expect(events.filter((e) => e.startsWith('error'))).toHaveLength(1)
            retryEvents += events.filter((e) => e.startsWith('retry')).length
            const text = exposed(error) + events.join()
            expect(text).not.toContain(password)
            expect(text).not.toContain(token)
            await registry.disconnect({ force: true }).catch(() => undefined)
          },
        ),
        { numRuns: 60 },
      )
      // Refused socket connects (neon-ws, planetscale) are retried, so retry events were searched too.
      expect(retryEvents).toBeGreaterThan(0)
    },
  )
})
