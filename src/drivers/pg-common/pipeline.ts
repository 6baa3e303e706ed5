import { beginOn, type SessionLike } from './session.js'
import { searchPathValue, SET_SEARCH_PATH, type ResultLike } from './sql.js'

// Several statements on one WebSocket session, atomically, in as few round trips as pg allows
// (a pg-style pool's `batch`, and its `execute` with a schema and parameters: neon-ws and pg).

interface PgConnection {
  parse(msg: unknown): void
  bind(msg: { values?: unknown[]; valueMapper?: (value: unknown, index: number) => unknown }): void
  describe(msg: unknown): void
  execute(msg: unknown): void
  sync(): void
}

interface PgQuery {
  submit(connection: PgConnection): Error | null
  prepare(connection: unknown): void
}

type PgQueryClass = new (config: {
  text: string
  values?: unknown[]
  callback?: (error: Error | null, result: unknown) => void
}) => PgQuery

/** @internal For tests: turn pipelining off to exercise the BEGIN … COMMIT fallback. */
export const pipelineInternals = { pipelining: true }

/** pg's Query class, a static of the session's Client class (node-postgres's, or Neon's subclass of it). */
function queryClass(session: SessionLike): PgQueryClass | undefined {
  const candidate = (session.constructor as { Query?: PgQueryClass } | undefined)?.Query
  const proto = candidate?.prototype as Partial<PgQuery> | undefined
  return pipelineInternals.pipelining && typeof proto?.prepare === 'function' && typeof proto.submit === 'function'
    ? candidate
    : undefined
}

export interface Bound {
  text: string
  values: unknown[]
}

/**
 * Runs the statements in ONE round trip: each one's Parse/Bind/Describe/Execute, then a single
 * Sync. Postgres runs everything before a Sync in one implicit transaction, so the statements are
 * atomic (an error rolls all of them back) and a `set_config(…, true)` among them holds until the
 * Sync and no longer. Built on pg's public Submittable interface with pg's own Query doing the
 * encoding; every value is encoded before anything is written, so a bad value sends nothing.
 */
function pipeline(session: SessionLike, Query: PgQueryClass, statements: readonly Bound[]): Promise<ResultLike[]> {
  return new Promise((resolve, reject) => {
    const collector = new Query({
      text: statements[0]!.text,
      callback: (error, result) => {
        if (error) return reject(error)
        const results = (Array.isArray(result) ? result : [result]) as ResultLike[]
        if (results.length === statements.length) resolve(results)
        else reject(new Error(`the pipeline returned ${results.length} results for ${statements.length} statements`))
      },
    })
    collector.submit = (connection) => {
      const writes: Array<() => void> = []
      const recorder = {
        parsedStatements: {},
        parse: (msg: unknown) => writes.push(() => connection.parse(msg)),
        bind: (msg: Parameters<PgConnection['bind']>[0]) => {
          // Encode now: a bad value throws before anything is sent.
          msg.values?.forEach((value, index) => {
            msg.valueMapper?.(value, index)
          })
          writes.push(() => connection.bind(msg))
        },
        describe: (msg: unknown) => writes.push(() => connection.describe(msg)),
        execute: (msg: unknown) => writes.push(() => connection.execute(msg)),
        flush: () => {},
        sync: () => {},
      }
      const outcome: { failed: Error | null } = { failed: null }
      for (const s of statements) {
        new Query({ text: s.text, values: s.values, callback: (error) => (outcome.failed = error) }).prepare(recorder)
        if (outcome.failed !== null) return outcome.failed
      }
      for (const write of writes) write()
      connection.sync()
      return null
    }
    ;(session as unknown as { query(submittable: PgQuery): unknown }).query(collector)
  })
}

/** The fallback when pipelining is unavailable: BEGIN (+ search_path), each statement, COMMIT. */
async function inTransaction(
  session: SessionLike,
  statements: readonly Bound[],
  schema: string | undefined,
): Promise<ResultLike[]> {
  await beginOn(session, undefined, schema)
  try {
    const results: ResultLike[] = []
    for (const s of statements) results.push(await session.query(s.text, s.values))
    await session.query('COMMIT')
    return results
  } catch (error) {
    await session.query('ROLLBACK').catch(() => undefined)
    throw error
  }
}

/** Statements atomically, with the schema's search_path for them only: one round trip when pipelined. */
export async function runAtomically(
  session: SessionLike,
  statements: readonly Bound[],
  schema: string | undefined,
): Promise<ResultLike[]> {
  const Query = queryClass(session)
  // A blank statement answers EmptyQueryResponse instead of a result: keep those on the simple path.
  if (Query === undefined || statements.some((s) => s.text.trim() === ''))
    return inTransaction(session, statements, schema)
  if (schema === undefined) return pipeline(session, Query, statements)
  const results = await pipeline(session, Query, [
    { text: SET_SEARCH_PATH, values: [searchPathValue(schema)] },
    ...statements,
  ])
  return results.slice(1)
}
