// Property-based bad input, checked against outcomes, not only error types: for each generated input
// the test predicts, from the README's rules, whether lazydb must accept it (and then what it must
// return: the driver the scheme picks, the stats shape, the query result) or must refuse it (and
// then with which code), and a LazyDbError must never carry a generated secret.
// Seeded: LAZYDB_FUZZ_SEED=<integer> replays a run (default: a fixed seed, so CI runs are the same);
// LAZYDB_FUZZ_SEED=random draws one. The seed is printed with every run, and a failure prints the
// seed, the path and the shrunk counterexample (fast-check's report), which replay it exactly.
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { type Database, LazyDbError, Registry, type LazyDbErrorCode, type QueryResult } from '@lazydb/core'
import { hasPositionalPlaceholder } from '../../src/drivers/libsql/placeholders.js'
import { exposed } from '../support/exposed.js'
import { closedPort } from '../support/ports.js'

const DEFAULT_SEED = 20261203
const SEED = fuzzSeed(process.env.LAZYDB_FUZZ_SEED)

function fuzzSeed(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULT_SEED
  if (value === 'random') return (Math.random() * 2 ** 31) | 0
  const seed = Number(value)
  if (!Number.isSafeInteger(seed)) throw new Error(`LAZYDB_FUZZ_SEED must be an integer or "random" (got ${value})`)
  return seed
}

/** fc.assert with the suite's seed; on failure prints the seed and fast-check's report (counterexample, path). */
async function check<Ts>(name: string, property: fc.IRawProperty<Ts>, numRuns: number): Promise<void> {
  try {
    await fc.assert(property, { seed: SEED, numRuns })
  } catch (error) {
    console.error(
      `[fuzz] "${name}" failed with LAZYDB_FUZZ_SEED=${SEED}; replay with that seed. ` +
        `fast-check's report (shrunk counterexample, path):\n${(error as Error).message}`,
    )
    throw error
  }
}

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
    shape: fc.constantFrom('full', 'no-slashes', 'encoded', 'doubled-at', 'no-auth'),
  })
  .map(({ scheme, user, password, token, host, path, query, shape }) => {
    const pw = shape === 'encoded' ? encodeURIComponent(password) : password
    const auth = shape === 'no-auth' ? '' : shape === 'doubled-at' ? `${user}:${pw}@@` : `${user}:${pw}@`
    const sep = shape === 'no-slashes' ? ':' : '://'
    const tokenPart = token === null ? '' : `${query === '' ? '?' : '&'}authToken=${token}`
    const secrets = [...(shape === 'no-auth' ? [] : [password]), ...(token === null ? [] : [token])]
    return { url: `${scheme}${sep}${auth}${host}${path}${query}${tokenPart}`, secrets }
  })

const valueArb = fc.oneof(
  fc.anything({ maxDepth: 2 }),
  fc.constantFrom(undefined, null, '', 0, [], {}, () => 1),
)
const DRIVERS = ['neon-http', 'neon-ws', 'planetscale', 'libsql', 'pg', 'mysql2', 'postgres'] as const
type DriverName = (typeof DRIVERS)[number]
const configArb = fc.oneof(
  urlArb.map(({ url, secrets }) => ({ input: url as unknown, secrets })),
  fc
    .record({
      u: urlArb,
      driver: fc.oneof(fc.constant(undefined), fc.constantFrom(...DRIVERS), valueArb),
      scope: fc.oneof(fc.constant(undefined), fc.constantFrom('warm', 'request'), valueArb),
      idle: fc.oneof(fc.constant(undefined), fc.integer({ min: 0, max: 2 ** 31 - 1 }), valueArb),
      authToken: secretArb,
    })
    .map(({ u, driver, scope, idle, authToken }) => ({
      input: { url: u.url, driver, scope, idleTimeoutMs: idle, authToken } as unknown,
      secrets: [...u.secrets, authToken],
    })),
  valueArb.map((input) => ({ input, secrets: [] as string[] })),
)

/**
 * What lazydb must do with one database value, by the README's rules: refuse it (CONFIG_INVALID),
 * accept it with this driver and scope, or (`maybe`) either — where only the driver can tell, e.g.
 * whether a driver named explicitly accepts the URL's scheme.
 */
type Prediction = { verdict: 'refuse' } | { verdict: 'accept' | 'maybe'; driver: DriverName; scope: 'warm' | 'request' }

/** The driver a URL's scheme selects, or undefined when the URL is not one lazydb takes. */
function driverForUrl(url: string): DriverName | undefined {
  if (url === ':memory:' || url.startsWith('file:')) return 'libsql'
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase()
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return undefined
  }
  if (parsed.hostname === '') return undefined
  // A host that can be reached: Neon's own (or ?transport=) → Neon; any other → pg (no other Postgres
  // driver is imported here); PlanetScale's → PlanetScale; any other MySQL host → mysql2.
  if (scheme === 'postgres' || scheme === 'postgresql') {
    const transport = parsed.searchParams.get('transport')
    if (transport === 'ws') return 'neon-ws'
    return transport === 'http' || /(^|\.)neon\.tech$/i.test(parsed.hostname) ? 'neon-http' : 'pg'
  }
  if (scheme === 'mysql') return /(^|\.)psdb\.cloud$/i.test(parsed.hostname) ? 'planetscale' : 'mysql2'
  if (scheme !== undefined && ['libsql', 'http', 'https', 'ws', 'wss'].includes(scheme)) {
    // A libSQL URL cannot carry a user or password (the token goes in authToken).
    return /^[a-z]+:\/\/[^/?#]*@/i.test(url) ? undefined : 'libsql'
  }
  return undefined
}

const isTimerMs = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 2 ** 31 - 1
const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

function predict(input: unknown): Prediction {
  const options = typeof input === 'string' ? { url: input } : input
  if (input === '' || !isPlainObject(options)) return { verdict: 'refuse' }
  const { url, driver, scope, idleTimeoutMs } = options
  if (typeof url !== 'string' || url.trim() === '') return { verdict: 'refuse' }
  if (driver !== undefined && !DRIVERS.includes(driver as DriverName)) return { verdict: 'refuse' }
  if (scope !== undefined && scope !== 'warm' && scope !== 'request') return { verdict: 'refuse' }
  if (idleTimeoutMs !== undefined && !isTimerMs(idleTimeoutMs)) return { verdict: 'refuse' }
  // Tests run on Node: every lifetime defaults to warm.
  const lifetime = (scope as 'warm' | 'request' | undefined) ?? 'warm'
  const bySchema = driverForUrl(url)
  if (driver !== undefined) return { verdict: 'maybe', driver: driver as DriverName, scope: lifetime }
  if (bySchema === undefined) return { verdict: 'refuse' }
  return { verdict: 'accept', driver: bySchema, scope: lifetime }
}

const ALIAS = /^[A-Za-z_][A-Za-z0-9_-]{0,62}$/

function noteCode(error: LazyDbError): void {
  counts.byCode[error.code] = (counts.byCode[error.code] ?? 0) + 1
}

afterAll(() => {
  console.log(
    `fuzz (LAZYDB_FUZZ_SEED=${SEED}): ${counts.inputs} inputs tried, ${counts.accepted} accepted, ` +
      `errors by code ${JSON.stringify(counts.byCode)}`,
  )
})

describe('property-based bad input', () => {
  it('registries from generated URLs and configs: refused when the rules say, accepted as they say', async () => {
    await check(
      'registries',
      fc.property(
        configArb,
        configArb,
        fc.oneof(fc.string({ maxLength: 8 }), fc.constant('analytics')),
        (main, extra, alias) => {
          counts.inputs++
          const secrets = [...main.secrets, ...extra.secrets]
          const first = predict(main.input)
          // An extra must be named by the alias rules and set: undefined (an unset variable) is refused too.
          const second: Prediction =
            !ALIAS.test(alias) || alias === 'default' ? { verdict: 'refuse' } : predict(extra.input)
          let registry: Registry | undefined
          let error: unknown
          try {
            registry = new Registry({
              database: main.input as never,
              extra: { [alias]: extra.input as never },
              warn: false,
            })
          } catch (e) {
            error = e
          }
          if (error !== undefined) {
            if (!(error instanceof LazyDbError)) throw new Error(`a non-LazyDbError escaped: ${String(error)}`)
            noteCode(error)
            for (const secret of secrets) expect(exposed(error)).not.toContain(secret)
            expect(error.code).toBe('CONFIG_INVALID')
            expect([undefined, 'default', alias]).toContain(error.database)
            if (error.database !== undefined) expect(error.message).toContain(`database "${error.database}"`)
            expect(first.verdict === 'accept' && second.verdict === 'accept').toBe(false)
            return
          }
          counts.accepted++
          if (first.verdict === 'refuse') throw new Error('accepted a database the rules refuse')
          if (second.verdict === 'refuse') throw new Error('accepted an extra the rules refuse')
          const expectations = [
            ['default', registry!.database, first],
            [alias, registry!.extra[alias], second],
          ] as const
          expect(Object.keys(registry!.extra)).toEqual([alias])
          for (const [name, db, predicted] of expectations) {
            expect(db).toBeDefined()
            expect(db!.name).toBe(name)
            expect(db!.driver).toBe(predicted.driver)
            expect(db!.isConnected).toBe(false) // nothing connects at construction
            expect(registry!.using(name)).toBe(db)
            for (const secret of secrets) expect(db!.url).not.toContain(secret)
          }
          const stats = registry!.stats()
          const zero = { connects: 0, closes: 0, queries: 0, errors: 0, retries: 0 }
          const databases: Record<string, unknown> = {}
          for (const [name, db, predicted] of expectations) {
            databases[name] = { driver: db!.driver, scope: predicted.scope, ...zero }
          }
          expect(stats).toEqual({ platform: 'node', invocations: { total: 0, cold: 0 }, databases })
          expect(JSON.stringify(stats)).not.toMatch(/Zq[A-Za-z0-9]+Sx/)
        },
      ),
      6000,
    )
  })

  it('generated schema names and names: identifiers bind, names resolve, the rest get their code', async () => {
    const registry = new Registry({
      database: 'postgres://u:p@h.example/db',
      extra: { other: 'mysql://u:p@h.example/db' },
      warn: false,
    })
    const SCHEMA = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/
    await check(
      'using',
      fc.property(
        fc.oneof(fc.string({ maxLength: 70 }), fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_$]{0,70}$/), valueArb),
        fc.oneof(fc.constantFrom(undefined, 'other', 'default'), fc.string({ maxLength: 6 }), valueArb),
        (schema, name) => {
          counts.inputs++
          const nameCode: LazyDbErrorCode | undefined =
            name === undefined || name === 'default' || name === 'other'
              ? undefined
              : typeof name === 'string' && name !== ''
                ? 'UNKNOWN_DATABASE'
                : 'INVALID_ARGUMENT'
          const schemaOk = schema === undefined || (typeof schema === 'string' && SCHEMA.test(schema))
          const expected = nameCode ?? (schemaOk ? undefined : 'CONFIG_INVALID')
          let view: Database<unknown> | undefined
          try {
            view = registry.using(name as 'default', { schema: schema as never })
          } catch (error) {
            if (!(error instanceof LazyDbError)) throw new Error(`a non-LazyDbError escaped: ${String(error)}`)
            noteCode(error)
            expect(error.code).toBe(expected)
            return
          }
          counts.accepted++
          expect(expected).toBeUndefined()
          const base = name === 'other' ? registry.extra.other! : registry.database
          expect(view.name).toBe(base.name)
          expect(view.driver).toBe(base.driver)
          expect(view.schema).toBe(schema)
          if (schema === undefined) expect(view).toBe(base)
        },
      ),
      4000,
    )
  })

  it(
    'generated arguments to query, batch and transaction: each resolves as documented ' +
      'or rejects with the code its input class gets',
    async () => {
      const registry = new Registry({ database: ':memory:', warn: false })
      const db = registry.database
      const sqlArb = fc.oneof(
        valueArb,
        fc.constantFrom(
          'select 1 as one',
          'select ? as v',
          'begin',
          '  BEGIN TRANSACTION',
          'start transaction',
          'savepoint s1',
          'select * from no_such_table',
          'selec 1',
        ),
      )
      const scalarArb = fc.oneof(fc.integer(), fc.string({ maxLength: 20 }), fc.constant(null))
      const opensTransaction = (text: string) => /^\s*(begin|start\s+transaction|savepoint)\b/i.test(text)
      const isResult = (r: QueryResult) =>
        Array.isArray(r.rows) && typeof r.rowCount === 'number' && Array.isArray(r.columns)
      const outcome = async (call: () => Promise<unknown>) => {
        try {
          return { value: await call() }
        } catch (error) {
          if (!(error instanceof LazyDbError)) throw new Error(`a non-LazyDbError escaped: ${String(error)}`)
          noteCode(error)
          return { code: error.code }
        }
      }
      await check(
        'query, batch, transaction',
        fc.asyncProperty(sqlArb, valueArb, scalarArb, async (a, b, scalar) => {
          counts.inputs++
          // query(a, b). A positional `?` with an object of named values would make the embedded libSQL
          // driver (@libsql/client 0.18) panic in native code and abort the process: lazydb refuses it.
          const namedForPositional =
            typeof a === 'string' &&
            hasPositionalPlaceholder(a) &&
            typeof b === 'object' &&
            b !== null &&
            !Array.isArray(b)
          const q = await outcome(() => db.query(a as never, b as never))
          if (typeof a !== 'string' || (b !== undefined && (typeof b !== 'object' || b === null))) {
            expect(q).toEqual({ code: 'INVALID_ARGUMENT' })
          } else if (namedForPositional && !opensTransaction(a)) {
            expect(q).toEqual({ code: 'INVALID_ARGUMENT' })
          } else if (opensTransaction(a)) {
            expect(q).toEqual({ code: 'TRANSACTION_UNSUPPORTED' })
          } else if (a === 'select 1 as one' && (b === undefined || (Array.isArray(b) && b.length === 0))) {
            expect(q).toEqual({ value: { rows: [{ one: 1 }], rowCount: 1, columns: ['one'] } })
          } else if ('value' in q) {
            expect(isResult(q.value as QueryResult)).toBe(true)
          } else expect(q.code).toBe('QUERY_FAILED')
          // A bound value comes back as it went in.
          const echoed = await outcome(() => db.query<{ v: unknown }>('select ? as v', [scalar]))
          expect(echoed).toEqual({ value: { rows: [{ v: scalar }], rowCount: 1, columns: ['v'] } })
          // batch(a)
          const bt = await outcome(() => db.batch(a as never))
          const statementOk = (s: unknown) =>
            isPlainObject(s) &&
            typeof s.text === 'string' &&
            (s.params === undefined || (typeof s.params === 'object' && s.params !== null))
          if (!Array.isArray(a) || !a.every(statementOk)) expect(bt).toEqual({ code: 'INVALID_ARGUMENT' })
          else if ('value' in bt) {
            expect(bt.value).toHaveLength(a.length)
            expect((bt.value as QueryResult[]).every(isResult)).toBe(true)
          } else expect(bt.code).toBe('QUERY_FAILED')
          // transaction(a, b)
          const tx = await outcome(() => db.transaction(a as never, b as never))
          const optionsOk =
            b === undefined ||
            (isPlainObject(b) &&
              (b.isolationLevel === undefined ||
                ['read uncommitted', 'read committed', 'repeatable read', 'serializable'].includes(
                  b.isolationLevel as string,
                )) &&
              (b.readOnly === undefined || typeof b.readOnly === 'boolean') &&
              (b.deferrable === undefined || typeof b.deferrable === 'boolean'))
          if (typeof a !== 'function' || !optionsOk) expect(tx).toEqual({ code: 'INVALID_ARGUMENT' })
          else {
            // Any function generated returns a value: transaction() resolves to it, or fails as a transaction would.
            const expected = await outcome(async () => (a as () => unknown)())
            if ('value' in tx) expect(tx).toEqual(expected)
            else expect(['QUERY_FAILED', 'TRANSACTION_UNSUPPORTED']).toContain(tx.code)
          }
          if ('value' in q && 'value' in bt && 'value' in tx) counts.accepted++
        }),
        500,
      )
      expect(registry.stats().databases.default!.connects).toBe(1)
      await registry.disconnect()
    },
  )

  it(
    'connect failures to generated URLs with secrets: CONNECT_FAILED, never sent, and the secrets ' +
      'kept out of every error, warning and hook event',
    async () => {
      const port = await closedPort()
      let retryEvents = 0
      await check(
        'connect failures',
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
            let retries = 0
            const registry = new Registry({
              database: {
                url,
                ...(scheme === 'http' ? { driver: 'planetscale' as const } : {}),
                // Neon's own default endpoint for 127.0.0.1 (https://api.0.0.1/sql) is no URL at all: point
                // it at the closed port, so every scheme meets a refused connect.
                ...(scheme === 'postgres' ? { fetchEndpoint: `http://127.0.0.1:${port}/sql` } : {}),
              },
              retry: { attempts: 2, baseDelayMs: 0 },
              on: {
                warning: (w) => events.push(`warning ${w.code} ${w.database} ${w.message}`),
                retry: (r) => {
                  retries++
                  events.push(`retry ${r.reason} ${exposed(r.error)}`)
                },
                error: (e) => events.push(`error ${exposed(e)}`),
              },
            })
            const error = await registry.database.query('select 1').catch((e: unknown) => e)
            if (!(error instanceof LazyDbError)) throw new Error(`expected a LazyDbError, got ${String(error)}`)
            noteCode(error)
            // Refused before anything was sent: CONNECT_FAILED naming the alias and the driver, not run.
            expect(error.code).toBe('CONNECT_FAILED')
            expect(error.database).toBe('default')
            expect(error.mayHaveRun).not.toBe(true)
            expect(error.message).toMatch(/^database "default" \((pg|mysql2|planetscale)\): could not/)
            expect(events.filter((e) => e.startsWith('warning NOT_CONNECTED'))).toHaveLength(1)
            expect(events.filter((e) => e.startsWith('error'))).toHaveLength(1)
            // attempts: 2 — one retry, reported, counted, and for a refused connect only.
            expect(retries).toBe(1)
            expect(events.filter((e) => e.startsWith('retry')).every((e) => e.startsWith('retry connect'))).toBe(true)
            // An HTTP driver's client exists before its first request; a socket driver's only once connected.
            const connects = scheme === 'http' ? 1 : 0
            expect(registry.stats().databases.default).toMatchObject({ retries: 1, errors: 1, connects })
            retryEvents += retries
            const text = exposed(error) + events.join()
            expect(text).not.toContain(password)
            expect(text).not.toContain(token)
            await registry.disconnect({ force: true }).catch(() => undefined)
          },
        ),
        60,
      )
      expect(retryEvents).toBeGreaterThan(0)
    },
  )
})
