import { describe, expect, it } from 'vitest'
import { handler, LazyDbError, Registry, type WarningEvent } from '@lazydb/core'
import { libsql } from '@lazydb/core/libsql'
import { neon } from '@lazydb/core/neon'
import { planetscale, planetscaleDriver } from '@lazydb/core/planetscale'
import { exposed } from '../support/exposed.js'
import { thrown } from '../support/thrown.js'

describe('config checked at construction', () => {
  it.each([
    ['a bad URL', 'postgres://'],
    ['an unknown scheme', 'redis://localhost:6379'],
    ['no scheme', 'localhost:5432/db'],
    ['an empty string', ''],
    ['a number', 42],
  ])('rejects %s in an extra slot with CONFIG_INVALID naming the alias', (_what, value) => {
    const error = thrown(() => new Registry({ database: ':memory:', extra: { reports: { url: value as string } } }))
    expect(error.code).toBe('CONFIG_INVALID')
    expect(error.database).toBe('reports')
    expect(error.message).toContain('"reports"')
  })

  it.each([
    ['a bad URL', 'postgres://'],
    ['an unknown scheme', 'redis://localhost:6379'],
    ['an object without a url', { driver: 'libsql' }],
  ])('rejects %s in the default slot with CONFIG_INVALID naming "default"', (_what, value) => {
    const error = thrown(() => new Registry({ database: value as string, extra: { fine: ':memory:' } }))
    expect(error.code).toBe('CONFIG_INVALID')
    expect(error.database).toBe('default')
    expect(error.message).toContain('"default"')
  })

  it('rejects a missing default database and an unknown driver or scope', () => {
    expect(thrown(() => new Registry({ database: undefined as never })).message).toMatch(/"default": no URL/)
    expect(thrown(() => new Registry({ database: { url: ':memory:', driver: 'oracle' as never } })).message).toMatch(
      /unknown driver/,
    )
    expect(thrown(() => new Registry({ database: { url: ':memory:', scope: 'forever' as never } })).message).toMatch(
      /warm.*request/,
    )
    expect(thrown(() => new Registry({ database: ':memory:', extra: { '': ':memory:' } })).code).toBe('CONFIG_INVALID')
  })

  it('selects a driver that can reach the host, overridable', () => {
    const registry = new Registry({
      database: 'postgres://u:p@ep-x-123.us-east-2.aws.neon.tech/app',
      extra: {
        tcp: 'postgres://u:p@db.example.com/app',
        mysqlTcp: 'mysql://u:p@db.example.com/app',
        forcedPostgres: { url: 'postgres://u:p@db.example.com/app', driver: 'postgres' },
        neonHttp: 'postgres://u:p@db.example.com/app?transport=http',
        ws: 'postgresql://u:p@db.example.com/app?transport=ws',
        forced: { url: 'postgres://u:p@db.example.com/app', driver: 'neon-ws' },
        mysql: 'mysql://u:p@aws.connect.psdb.cloud/app',
        gateway: { url: 'http://u:p@127.0.0.1:8080', driver: 'planetscale' },
        turso: 'libsql://app.turso.io',
        file: 'file:.data/x.db',
        memory: ':memory:',
      },
    })
    const drivers = Object.fromEntries(Object.entries(registry.extra).map(([k, d]) => [k, d.driver]))
    expect(registry.database.driver).toBe('neon-http')
    expect(drivers).toEqual({
      tcp: 'pg',
      mysqlTcp: 'mysql2',
      forcedPostgres: 'postgres',
      neonHttp: 'neon-http',
      ws: 'neon-ws',
      forced: 'neon-ws',
      mysql: 'planetscale',
      gateway: 'planetscale',
      turso: 'libsql',
      file: 'libsql',
      memory: 'libsql',
    })
  })

  it("checks a registered driver's options at construction, with no I/O", () => {
    const neonError = thrown(
      () =>
        new Registry({ database: neon('postgres://u:p@db.example.com/app', { fetchEndpoint: 5 as never }), extra: {} }),
    )
    expect(neonError).toMatchObject({ code: 'CONFIG_INVALID', database: 'default' })
    expect(neonError.message).toMatch(/fetchEndpoint/)
    const viaUrl = thrown(
      () =>
        new Registry({ database: ':memory:', extra: { orders: { url: 'postgres://u:p@h/db?transport=ws', max: 0 } } }),
    )
    expect(viaUrl).toMatchObject({ code: 'CONFIG_INVALID', database: 'orders' })
    expect(viaUrl.message).toMatch(/\bmax\b/)
    const psError = thrown(() => new Registry({ database: planetscale('mysql://u:p@h/db', { cast: 'int' as never }) }))
    expect(psError).toMatchObject({ code: 'CONFIG_INVALID', database: 'default' })
    expect(psError.message).toMatch(/cast must be a function/)
    expect(
      new Registry({ database: neon('postgres://u:p@h/db', { fetchEndpoint: 'http://127.0.0.1:1/sql' }) }).stats()
        .databases.default!.connects,
    ).toBe(0)
  })

  it('picks the lifetime per platform and transport', () => {
    const on = (platform: 'cloudflare' | 'aws-lambda' | 'vercel-edge') =>
      new Registry({
        database: 'postgres://u:p@h/db?transport=ws',
        extra: {
          http: 'postgres://u:p@ep-x.neon.tech/db',
          tcp: 'postgres://u:p@h/db',
          turso: 'libsql://x.turso.io',
          tursoWs: 'wss://x.turso.io',
        },
        platform,
      }).stats().databases
    // @libsql/client sends libsql:// over HTTPS: warm everywhere; only ws(s):// holds a socket.
    expect(on('cloudflare')).toMatchObject({
      default: { scope: 'request' },
      http: { scope: 'warm' },
      tcp: { driver: 'pg', scope: 'request' },
      turso: { scope: 'warm' },
      tursoWs: { scope: 'request' },
    })
    expect(on('vercel-edge')).toMatchObject({ default: { scope: 'request' }, http: { scope: 'warm' } })
    expect(on('aws-lambda')).toMatchObject({
      default: { scope: 'warm' },
      http: { scope: 'warm' },
      tcp: { driver: 'pg', scope: 'warm' },
      turso: { scope: 'warm' },
    })
  })
})

describe('secrets never leak', () => {
  const password = 'pa55-w0rd-SECRET'
  const token = 'tok-ABCDEF-123456'

  it('masks the password and token in db.url', () => {
    const registry = new Registry({
      database: `postgres://user:${password}@db.example.com/app`,
      extra: { turso: `libsql://x.turso.io?authToken=${token}`, opt: { url: 'libsql://y.turso.io', authToken: token } },
    })
    for (const db of [registry.database, ...Object.values(registry.extra)]) {
      expect(db.url).not.toContain(password)
      expect(db.url).not.toContain(token)
    }
    expect(registry.database.url).toBe('postgres://user:***@db.example.com/app')
  })

  it('keeps secrets out of config errors, connect errors, causes, stacks and warnings', async () => {
    const warnings: WarningEvent[] = []
    const errors: unknown[] = []
    const configProblem = thrown(() => new Registry({ database: `nope://user:${password}@host/db` }))
    const registry = new Registry({
      // Nothing listens on port 1: the connect fails at once with the URL in the driver's hands.
      database: libsql(`http://127.0.0.1:1?authToken=${token}`, { authToken: token }),
      extra: { pg: `postgres://user:${password}@127.0.0.1:1/app` },
      retry: { attempts: 1 },
      on: { warning: (w) => warnings.push(w), error: (e) => errors.push(e) },
    })
    const failure = await registry.database.query('select 1').catch((e: unknown) => e)
    expect(failure).toBeInstanceOf(LazyDbError)
    const everything = [configProblem, failure, ...errors].map(exposed).join('\n') + JSON.stringify(warnings)
    expect(everything).not.toContain(password)
    expect(everything).not.toContain(token)
    await registry.disconnect()
  })
})

describe('bad input to every public function gives a LazyDbError with the fix', () => {
  const registry = new Registry({ database: ':memory:', warn: false })
  const db = registry.database

  // Each case: the code, what the message must say is wrong (naming the option or value and what it
  // got), and the fix it must give — a concrete thing to write, not just "invalid".
  it.each([
    [
      'new Registry(null)',
      () => new Registry(null as never),
      'CONFIG_INVALID',
      /new Registry\(\) expects an options object \(got null\)/,
      /Pass \{ database: process\.env\.DATABASE_URL/,
    ],
    [
      'new Registry("x")',
      () => new Registry('file:x' as never),
      'CONFIG_INVALID',
      /new Registry\(\) expects an options object \(got a string\)/,
      /Pass \{ database: /,
    ],
    [
      'extra: []',
      () => new Registry({ database: ':memory:', extra: [] as never }),
      'CONFIG_INVALID',
      /extra must be an object of named databases \(got an array\)/,
      /Pass \{ extra: \{ analytics: /,
    ],
    [
      'on: { nope }',
      () => new Registry({ database: ':memory:', on: { nope: () => 1 } as never }),
      'CONFIG_INVALID',
      /unknown hook "on\.nope"/,
      /Use connect, close, query, retry, warning, error/,
    ],
    [
      'on.warning: 1',
      () => new Registry({ database: ':memory:', on: { warning: 1 as never } }),
      'CONFIG_INVALID',
      /on\.warning must be a function \(got number\)/,
      /Pass on: \{ warning: \(event\) => /,
    ],
    [
      'warn: "no"',
      () => new Registry({ database: ':memory:', warn: 'no' as never }),
      'CONFIG_INVALID',
      /warn must be a boolean \(got a string\)/,
      /Pass warn: false/,
    ],
    [
      'idleTimeoutMs: -1',
      () => new Registry({ database: ':memory:', idleTimeoutMs: -1 }),
      'CONFIG_INVALID',
      /idleTimeoutMs must be a number of milliseconds ≥ 0, at most 2147483647 .*\(got -1\)/,
      /Pass e\.g\. idleTimeoutMs: 60000/,
    ],
    [
      'retry: { attempts: 0 }',
      () => new Registry({ database: ':memory:', retry: { attempts: 0 } }),
      'CONFIG_INVALID',
      /retry\.attempts must be a whole number ≥ 1 \(got 0\)/,
      /Pass e\.g\. retry: \{ attempts: 10 \}/,
    ],
    [
      'retry: { often: 1 }',
      () => new Registry({ database: ':memory:', retry: { often: 1 } as never }),
      'CONFIG_INVALID',
      /unknown retry option "often"/,
      /Use attempts, baseDelayMs, maxDelayMs, totalMs/,
    ],
    [
      'platform: "mars"',
      () => new Registry({ database: ':memory:', platform: 'mars' as never }),
      'CONFIG_INVALID',
      /unknown platform "mars"/,
      /Use one of cloudflare, vercel-edge, vercel-node, aws-lambda, netlify, node, unknown/,
    ],
    [
      'fromEnv(5)',
      () => Registry.fromEnv(5 as never),
      'CONFIG_INVALID',
      /Registry\.fromEnv\(\) found no environment/,
      /Pass the env object your platform gives you: Registry\.fromEnv\(env\)/,
    ],
    [
      'using("")',
      () => registry.using(''),
      'INVALID_ARGUMENT',
      /using: the name must be a non-empty string \(got an empty string\)/,
      /Call using\(\) for the default database or using\("name"\)/,
    ],
    [
      'using(5)',
      () => registry.using(5 as never),
      'INVALID_ARGUMENT',
      /using: the name must be a non-empty string \(got number\)/,
      /Call using\(\) for the default database/,
    ],
    [
      'using(undefined, 5)',
      () => registry.using(undefined, 5 as never),
      'INVALID_ARGUMENT',
      /using: options must be an object \(got number\)/,
      /Pass \{ schema: 'name' \} or nothing/,
    ],
    [
      'handler(registry, 1)',
      () => handler(registry, 1 as never),
      'INVALID_ARGUMENT',
      /handler: the second argument must be your function \(got number\)/,
      /Call handler\(registry, async \(req\) => /,
    ],
    [
      'libsql(undefined)',
      () => libsql(undefined as never),
      'CONFIG_INVALID',
      /"url" must be a non-empty string \(got undefined\)/,
      /Set url to the connection URL/,
    ],
  ] as const)('%s', (_label, call, code, problem, fix) => {
    const error = thrown(call)
    expect(error.code).toBe(code)
    expect(error.message).toMatch(problem)
    expect(error.message).toMatch(fix)
    // The problem comes first, then the fix, as one readable sentence pair.
    expect(error.message.search(problem)).toBeLessThan(error.message.search(fix))
  })

  it.each([
    [
      'query(5)',
      () => db.query(5 as never),
      /query: the SQL text must be a string \(got number\)/,
      /Call query\('select …', \[params\]\)/,
    ],
    [
      'query(text, "x")',
      () => db.query('select 1', 'x' as never),
      /query: params must be an array or an object of named values \(got a string\)/,
      /Pass \[a, b\] for \$1\/\? placeholders or \{ name: value \} for :name/,
    ],
    [
      'query(text, null)',
      () => db.query('select 1', null as never),
      /query: params must be an array or an object of named values \(got null\)/,
      /Pass \[a, b\]/,
    ],
    [
      'sql("x")',
      () => db.sql('select 1' as never),
      /sql: it is a tagged template, not a function/,
      /Write db\.sql`select \* from t where id = \$\{id\}` \(no parentheses\)/,
    ],
    [
      'batch("x")',
      () => db.batch('x' as never),
      /batch: expected an array of \{ text, params\? \} \(got a string\)/,
      /Call batch\(\[\{ text: 'insert …', params: \[1\] \}\]\)/,
    ],
    [
      'batch([1])',
      () => db.batch([1 as never]),
      /batch: statement 0 must be \{ text: string, params\?: array \| object \} \(got number\)/,
      /Give every statement a text string/,
    ],
    [
      'transaction(1)',
      () => db.transaction(1 as never),
      /transaction: expected a function \(got number\)/,
      /Pass an async function: db\.transaction\(async \(tx\) => /,
    ],
    [
      'transaction(fn, { isolationLevel })',
      () => db.transaction(async () => 1, { isolationLevel: 'chaos' as never }),
      /transaction: unknown isolationLevel "chaos"/,
      /Use one of read uncommitted, read committed, repeatable read, serializable/,
    ],
    [
      'transaction(fn, { readOnly: 1 })',
      () => db.transaction(async () => 1, { readOnly: 1 as never }),
      /transaction: readOnly must be a boolean/,
      /Pass readOnly: true or leave it out/,
    ],
    [
      'disconnect(5)',
      () => registry.disconnect(5 as never),
      /disconnect: options must be an object \(got number\)/,
      /Pass \{ force: true \} or nothing/,
    ],
  ] as const)('%s rejects', async (_label, call, problem, fix) => {
    const error = await Promise.resolve()
      .then(call)
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(LazyDbError)
    const e = error as LazyDbError
    expect(e.code).toBe('INVALID_ARGUMENT')
    expect(e.message).toMatch(problem)
    expect(e.message).toMatch(fix)
    // Nothing ran: the database was never opened for a call refused on its arguments.
    expect(registry.stats().databases.default).toMatchObject({ connects: 0, queries: 0 })
  })
})

describe('a missing database value', () => {
  it('an extra whose value is undefined (an unset variable) throws CONFIG_INVALID naming it, never skipped', () => {
    const unset = (process.env as Record<string, string | undefined>).LAZYDB_TEST_SURELY_UNSET
    const error = thrown(() => new Registry({ database: ':memory:', extra: { analytics: unset } }))
    expect(error.code).toBe('CONFIG_INVALID')
    expect(error.database).toBe('analytics')
    expect(error.message).toMatch(/"analytics": no URL was given \(got undefined\).*environment variable/)
  })

  it('Registry.fromEnv names the variable that is empty', () => {
    const error = thrown(() => Registry.fromEnv({ DATABASE_URL: ':memory:', DATABASE_URL_ANALYTICS: '' }))
    expect(error.code).toBe('CONFIG_INVALID')
    expect(error.database).toBe('analytics')
    expect(error.message).toMatch(/DATABASE_URL_ANALYTICS is empty/)
  })

  it('neon() refuses a URL that asks for ?transport=ws without the option, so client() is never mistyped', () => {
    const error = thrown(() => neon('postgres://u:p@ep-x.neon.tech/db?transport=ws'))
    expect(error.code).toBe('CONFIG_INVALID')
    expect(error.message).toMatch(/pass neon\(url, \{ transport: 'ws' \}\)/i)
    expect(neon('postgres://u:p@ep-x.neon.tech/db?transport=ws', { transport: 'ws' }).driver).toBe('neon-ws')
    expect(thrown(() => neon('postgres://u@h/db', { transport: 'ws', driver: 'neon-http' })).code).toBe(
      'CONFIG_INVALID',
    )
  })
})

describe('found by the seeded fuzz suite and the breakage runs', () => {
  it('a password ended by an unencoded "@" (another "@" later) is masked in db.url', () => {
    const registry = new Registry({ database: ':memory:', extra: { odd: 'postgres://$?:Zqaa0a0ASx@ @' } })
    expect(registry.extra.odd.url).not.toContain('Zqaa0a0ASx')
  })

  it('neon-http whose derived endpoint cannot be fetched: CONNECT_FAILED, and the statement did not run', async () => {
    const url = 'postgres://u:p@127.0.0.1:5999/db' // no fetchEndpoint: the driver derives one it cannot fetch
    const registry = new Registry({ database: neon(url), retry: { totalMs: 100 }, warn: false })
    const error = (await registry.database.query('select 1').catch((e: unknown) => e)) as LazyDbError
    expect(error).toMatchObject({ code: 'CONNECT_FAILED', mayHaveRun: false })
    await registry.disconnect()
  })

  it("MariaDB's per-user connection cap (errno 1226) is transient and never sent, like too many connections", () => {
    const refusal = (errno: number) => ({
      status: 200,
      body: {},
      message:
        `target: x.-.primary: vttablet: rpc error: code = ResourceExhausted desc = refused (errno ${errno}) ` +
        '(sqlstate 42000)',
    })
    expect(planetscaleDriver.classify(refusal(1226))).toMatchObject({ errno: 1226, transient: true, notSent: true })
    expect(planetscaleDriver.classify(refusal(1040))).toMatchObject({ errno: 1040, transient: true, notSent: true })
  })
})
