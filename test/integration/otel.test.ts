// @lazydb/core/otel with the OpenTelemetry SDK's in-memory exporter: a span per statement, batch,
// transaction, connect and retry, with the database semantic conventions, each a child of the span
// active where the invocation runs (a transaction's statements children of the transaction), errors
// as span status with the LazyDbError code, and never a parameter value or a credential.
import { context, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { handler, LazyDbError, Registry } from '@lazydb/core'
import { libsql } from '@lazydb/core/libsql'
import { neon } from '@lazydb/core/neon'
import { otel } from '@lazydb/core/otel'
import { type NeonHttpGateway, startNeonHttpGateway } from '../support/neon-http-gateway.js'
import { closedPort } from '../support/ports.js'
import { pgUrlFor, requirePostgres } from '../support/postgres.js'
import { tempDir } from '../support/tmp.js'

const pgUp = await requirePostgres()
const exporter = new InMemorySpanExporter()
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
const tracer = provider.getTracer('test')
const contextManager = new AsyncLocalStorageContextManager()
const files = tempDir('lazydb-otel-')

beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable())
})
afterAll(async () => {
  context.disable()
  await provider.shutdown()
  files.remove()
})
beforeEach(() => exporter.reset())

/** Runs `fn` inside a parent span, as a platform's instrumentation would around an invocation. */
async function inInvocation<T>(fn: () => Promise<T>): Promise<{ result: T; parent: Span }> {
  return tracer.startActiveSpan('invocation', async (parent) => {
    try {
      return { result: await fn(), parent }
    } finally {
      parent.end()
    }
  })
}

const named = (spans: ReadableSpan[], name: string) => spans.filter((s) => s.name === name)
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId

describe('@lazydb/core/otel', () => {
  it('traces statements, a batch, a transaction and the connect as children of the invocation', async () => {
    const file = files.file('traced.db')
    const registry = new Registry({ database: libsql(`file:${file}`), tracing: otel({ tracerProvider: provider }) })
    const db = registry.database
    const run = handler(registry, async () => {
      await db.query('create table notes (id integer primary key, body text)')
      await db.sql`insert into notes (body) values (${'param-value-never-recorded'})`
      await db.batch([{ text: 'insert into notes (body) values (?)', params: ['b1'] }, { text: 'select 1' }])
      await db.transaction(async (tx) => {
        await tx.query('insert into notes (body) values (?)', ['t1'])
        await tx.query('select count(*) as n from notes')
      })
      return db.query('select body from notes')
    })
    const { parent } = await inInvocation(run)
    await registry.disconnect()
    const spans = exporter.getFinishedSpans()
    const invocationId = parent.spanContext().spanId

    const connect = named(spans, `lazydb.connect ${file}`)
    expect(connect).toHaveLength(1)
    expect(connect[0]!.kind).toBe(SpanKind.CLIENT)

    const create = named(spans, `CREATE ${file}`)[0]!
    expect(create.kind).toBe(SpanKind.CLIENT)
    expect(create.attributes).toMatchObject({
      'db.system': 'sqlite',
      'db.system.name': 'sqlite',
      'db.namespace': file,
      'db.operation.name': 'CREATE',
      'lazydb.database': 'default',
      'lazydb.driver': 'libsql',
    })
    expect(parentOf(create)).toBe(invocationId)

    const batch = named(spans, `BATCH INSERT ${file}`)[0]!
    expect(batch.attributes).toMatchObject({ 'db.operation.name': 'BATCH INSERT', 'db.operation.batch.size': 2 })
    expect(parentOf(batch)).toBe(invocationId)

    const transaction = named(spans, `TRANSACTION ${file}`)[0]!
    expect(transaction.kind).toBe(SpanKind.INTERNAL)
    expect(parentOf(transaction)).toBe(invocationId)
    const inside = spans.filter((s) => parentOf(s) === transaction.spanContext().spanId).map((s) => s.name)
    expect(inside).toEqual([`INSERT ${file}`, `SELECT ${file}`])

    // Two INSERTs outside the transaction (the sql`` one and none other), one inside it.
    expect(named(spans, `INSERT ${file}`).filter((s) => parentOf(s) === invocationId)).toHaveLength(1)
    expect(JSON.stringify(spans.map((s) => [s.name, s.attributes, s.events]))).not.toContain('param-value')
    expect(spans.every((s) => s.status.code !== SpanStatusCode.ERROR)).toBe(true)
  })

  it('a failed statement is an ERROR span with the LazyDbError code; queryText: the SQL without values', async () => {
    const registry = new Registry({
      database: libsql(`file:${files.file('failing.db')}`),
      tracing: otel({ tracerProvider: provider, queryText: true }),
      warn: false,
    })
    const error = await registry.database.query('select * from missing where id = ?', [42]).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(LazyDbError)
    const span = exporter.getFinishedSpans().find((s) => s.attributes['db.operation.name'] === 'SELECT')!
    expect(span.status.code).toBe(SpanStatusCode.ERROR)
    expect(span.status.message).toMatch(/no such table: missing/)
    expect(span.attributes).toMatchObject({
      'error.type': 'QUERY_FAILED',
      'db.query.text': 'select * from missing where id = ?',
    })
    await registry.disconnect()
  })

  it('a connect that is retried: a retry span per wait, inside the connect span, then CONNECT_FAILED', async () => {
    const port = await closedPort()
    const registry = new Registry({
      database: libsql(`http://127.0.0.1:${port}`),
      tracing: otel({ tracerProvider: provider }),
      retry: { totalMs: 300, baseDelayMs: 20 },
      warn: false,
    })
    const error = (await registry.database.query('select 1').catch((e: unknown) => e)) as LazyDbError
    expect(error.code).toBe('CONNECT_FAILED')
    const spans = exporter.getFinishedSpans()
    const retries = spans.filter((s) => s.name === `lazydb.retry`)
    expect(retries.length).toBeGreaterThanOrEqual(2)
    expect(retries[0]!.attributes).toMatchObject({
      'lazydb.retry.attempt': 1,
      'lazydb.retry.reason': 'connect',
      'server.address': '127.0.0.1',
      'server.port': port,
    })
    const statement = spans.find((s) => s.name === 'SELECT')!
    expect(statement.attributes['error.type']).toBe('CONNECT_FAILED')
    expect(retries.every((r) => parentOf(r) === statement.spanContext().spanId)).toBe(true)
    expect(registry.stats().databases.default!.retries).toBe(retries.length)
    await registry.disconnect()
  })

  describe.skipIf(!pgUp)('over Neon HTTP, with credentials in the URL and a token', () => {
    let gateway: NeonHttpGateway
    beforeAll(async () => {
      gateway = await startNeonHttpGateway()
    })
    afterAll(() => gateway?.close())

    it('records server.address, server.port and db.namespace from the URL, never the password or token', async () => {
      const password = 'otel-Pw-73kQ9'
      const token = 'otel-tok-5XW2'
      const url = pgUrlFor('ep-otel.neon.tech:5432', { password })
      const registry = new Registry({
        database: neon(url, { fetchEndpoint: gateway.endpoint, authToken: async () => token }),
        tracing: otel({ tracerProvider: provider, queryText: true }),
        warn: false,
      })
      await registry.database.query('select $1::text as v', ['value-73'])
      await registry.database.query('select nope').catch(() => undefined)
      const spans = exporter.getFinishedSpans().filter((s) => s.attributes['lazydb.driver'] === 'neon-http')
      expect(spans.find((s) => s.name === 'SELECT test')?.attributes).toMatchObject({
        'db.system': 'postgresql',
        'server.address': 'ep-otel.neon.tech',
        'server.port': 5432,
        'db.namespace': 'test',
      })
      const everything = JSON.stringify(spans.map((s) => [s.name, s.attributes, s.events, s.status]))
      for (const secret of [password, token, 'value-73']) expect(everything).not.toContain(secret)
      await registry.disconnect()
    })
  })

  it('without a context manager the spans still end (no parent); a registry without tracing creates none', async () => {
    const plain = new Registry({ database: ':memory:', warn: false })
    await plain.database.query('select 1')
    expect(exporter.getFinishedSpans()).toHaveLength(0)
    await plain.disconnect()
    expect(trace.getActiveSpan()).toBeUndefined()
  })
})
