// @lazydb/core/otel: lazydb's statements, batches, transactions, connects and retries as
// OpenTelemetry spans, with the database semantic conventions. A span is a child of whatever span is
// active where the operation starts (the invocation's, from the platform's instrumentation); a
// transaction's statements are children of the transaction's span. Never a parameter value, never a
// credential: the attributes come from the SQL text's first keyword and the URL's host, port and path.
import { type Attributes, type Span, SpanKind, SpanStatusCode, type TracerProvider, trace } from '@opentelemetry/api'
import { LazyDbError } from '../errors.js'
import type { DriverName, TracedOperation, Tracing } from '../types.js'

export interface OtelOptions {
  /** The provider to take the tracer from; default: the global one (`trace.getTracerProvider()`). */
  tracerProvider?: TracerProvider
  /** Also record `db.query.text` (the SQL with placeholders, never the values). Default false. */
  queryText?: boolean
}

const SYSTEM: Record<DriverName, string> = {
  'neon-http': 'postgresql',
  'neon-ws': 'postgresql',
  planetscale: 'mysql',
  libsql: 'sqlite',
  pg: 'postgresql',
  postgres: 'postgresql',
  mysql2: 'mysql',
}

/**
 * Tracing for a Registry: `new Registry({ database, tracing: otel() })`. Needs `@opentelemetry/api`
 * (an optional peer) and, for parent/child links, a context manager registered by your SDK setup.
 * @example
 * import { otel } from '@lazydb/core/otel'
 * export const registry = new Registry({ database: libsql(url), tracing: otel() })
 */
export function otel(options: OtelOptions = {}): Tracing {
  const provider = options.tracerProvider
  const queryText = options.queryText === true
  return {
    trace<T>(operation: TracedOperation, run: () => Promise<T>): Promise<T> {
      const tracer = (provider ?? trace.getTracerProvider()).getTracer('@lazydb/core')
      const kind = operation.kind === 'transaction' || operation.kind === 'retry' ? SpanKind.INTERNAL : SpanKind.CLIENT
      const attributes = attributesOf(operation, queryText)
      return tracer.startActiveSpan(spanName(operation, attributes), { kind, attributes }, (span) => traced(span, run))
    },
  }
}

async function traced<T>(span: Span, run: () => Promise<T>): Promise<T> {
  try {
    return await run()
  } catch (error) {
    const lazy = error instanceof LazyDbError ? error : undefined
    span.setAttribute('error.type', lazy?.code ?? (error as Error)?.name ?? 'Error')
    if (lazy?.sqlState !== undefined) span.setAttribute('db.response.status_code', lazy.sqlState)
    // LazyDbError messages are masked; another error is the caller's own (thrown from a transaction's fn).
    span.setStatus({ code: SpanStatusCode.ERROR, message: lazy?.message ?? (error as Error)?.message })
    throw error
  } finally {
    span.end()
  }
}

/** The SQL's operation: its first keyword, upper-cased (`SELECT`, `INSERT`, `WITH`, …). */
function operationName(text: string | undefined): string | undefined {
  const word = text === undefined ? undefined : /^\s*(?:\/\*[\s\S]*?\*\/\s*|--[^\n]*\n\s*)*([A-Za-z]+)/.exec(text)?.[1]
  return word?.toUpperCase()
}

function attributesOf(operation: TracedOperation, queryText: boolean): Attributes {
  const attributes: Attributes = {
    'db.system': SYSTEM[operation.driver],
    'db.system.name': SYSTEM[operation.driver],
    'lazydb.database': operation.database,
    'lazydb.driver': operation.driver,
  }
  if (operation.namespace !== undefined) attributes['db.namespace'] = operation.namespace
  if (operation.serverAddress !== undefined) attributes['server.address'] = operation.serverAddress
  if (operation.serverPort !== undefined) attributes['server.port'] = operation.serverPort
  const name = operationName(operation.text)
  if (operation.kind === 'batch') {
    attributes['db.operation.name'] = name === undefined ? 'BATCH' : `BATCH ${name}`
    if (operation.statements !== undefined) attributes['db.operation.batch.size'] = operation.statements
  } else if (operation.kind === 'statement' && name !== undefined) attributes['db.operation.name'] = name
  if (queryText && operation.text !== undefined && operation.kind === 'statement')
    attributes['db.query.text'] = operation.text
  if (operation.retry !== undefined) {
    attributes['lazydb.retry.attempt'] = operation.retry.attempt
    attributes['lazydb.retry.delay_ms'] = operation.retry.delayMs
    attributes['lazydb.retry.reason'] = operation.retry.reason
  }
  return attributes
}

/** `{db.operation.name} {db.namespace}` for statements and batches, as the conventions name them. */
function spanName(operation: TracedOperation, attributes: Attributes): string {
  const target = operation.namespace === undefined ? '' : ` ${operation.namespace}`
  switch (operation.kind) {
    case 'statement':
    case 'batch':
      return `${(attributes['db.operation.name'] as string | undefined) ?? SYSTEM[operation.driver]}${target}`
    case 'transaction':
      return `TRANSACTION${target}`
    case 'connect':
      return `lazydb.connect${target}`
    case 'retry':
      return `lazydb.retry${target}`
  }
}
