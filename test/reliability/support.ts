// Shared by the reliability suites. The FREEZE HARNESS: a Lambda-like execution environment in a
// child process (fixtures/freeze-child.mjs running fixtures/freeze-app.ts), stopped with SIGSTOP
// between invocations and resumed with SIGCONT, one process reused for every cycle. A stopped
// process is what a frozen Lambda is: no timer fires, no socket event is read, the clock keeps
// going; whatever the far side did meanwhile (closed the socket, sent a FATAL) waits in the
// kernel and reaches the function only after the thaw, racing the next invocation.
import { fork, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import pg from 'pg'
import { PG_URL } from '../support/postgres.js'
import { tempDir } from '../support/tmp.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const alias: Record<string, string> = { '@lazydb/core': `${root}src/index.ts` }
for (const sub of ['neon', 'planetscale', 'libsql', 'pg', 'postgres', 'mysql2'])
  alias[`@lazydb/core/${sub}`] = `${root}src/drivers/${sub}/index.ts`
for (const sub of ['aws-lambda', 'cloudflare', 'vercel', 'netlify', 'hono'])
  alias[`@lazydb/core/${sub}`] = `${root}src/platforms/${sub}.ts`

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** The process state letter from /proc/<pid>/stat (R, S, T, …). */
function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
  } catch {
    return undefined
  }
}

export interface ChildError {
  code?: string
  message: string
  mayHaveRun?: boolean
}

export interface ChildReport {
  id: number
  result?: unknown
  error?: ChildError
  stats: {
    invocations: { total: number; cold: number }
    databases: Record<string, { connects: number; closes: number; queries: number; errors: number; retries: number }>
  }
  retries: { reason: string; attempt: number; delayMs: number }[]
  closes: string[]
  /** How long the child ran idle (neither frozen nor holding) between its previous reply and this message. */
  gapMs?: number
}

export interface FrozenFunction {
  /** Sends one invocation (read by the child once it runs) and resolves with its report. */
  invoke(event?: { sql?: string }): Promise<ChildReport>
  /**
   * One invocation taken in before a freeze and run on thaw before any timer: the child receives it
   * and holds its thread for `holdMs`; meanwhile this freezes the child (SIGSTOP), runs `during`
   * (the far side acts, time passes), and thaws it (SIGCONT). The hold ends during the freeze, so on
   * thaw the invocation runs at once, in the same turn, with the idle timer due but not yet run.
   */
  invokeAcrossFreeze(holdMs: number, during: () => Promise<void>, event?: { sql?: string }): Promise<ChildReport>
  /** SIGSTOP, resolving once the kernel reports the process stopped (the signal is asynchronous). */
  freeze(): Promise<void>
  /** SIGCONT. */
  thaw(): void
  /** registry.disconnect() in the child, then the child is killed. */
  shutdown(): Promise<ChildReport | undefined>
}

let bundled: Promise<{ path: string; remove: () => void }> | undefined

/** fixtures/freeze-app.ts bundled once per test file (lazydb from src/, every package inlined). */
function bundle(): Promise<{ path: string; remove: () => void }> {
  bundled ??= (async () => {
    const dir = tempDir('lazydb-reliability-')
    const path = dir.file('app.mjs')
    await build({
      entryPoints: [fileURLToPath(new URL('./fixtures/freeze-app.ts', import.meta.url))],
      outfile: path,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      alias,
      banner: {
        js:
          "import { createRequire as __lazydbRequire } from 'node:module'; " +
          'const require = __lazydbRequire(import.meta.url);',
      },
      logLevel: 'error',
    })
    return { path, remove: dir.remove }
  })()
  return bundled
}

/** Removes the bundle (afterAll). */
export async function removeBundle(): Promise<void> {
  const done = bundled
  bundled = undefined
  ;(await done)?.remove()
}

/** Starts the function in a child process with these environment variables (DATABASE_URL, NEON_WS_PROXY, …). */
export async function startFrozenFunction(env: Record<string, string>): Promise<FrozenFunction> {
  const { path } = await bundle()
  const child: ChildProcess = fork(fileURLToPath(new URL('./fixtures/freeze-child.mjs', import.meta.url)), [path], {
    env: { ...process.env, AWS_LAMBDA_FUNCTION_NAME: 'lazydb-reliability', ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const replies = new Map<number, (reply: ChildReport) => void>()
  const holding = new Map<number, () => void>()
  let nextId = 0
  let frozen = false
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  let gone = false
  void exited.then(() => (gone = true))
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`the child exited with ${code}`)))
    child.on('message', (message: ChildReport & { ready?: boolean; holding?: boolean }) => {
      if (message.ready) return resolve()
      if (message.holding) {
        holding.get(message.id)?.()
        holding.delete(message.id)
        return
      }
      replies.get(message.id)?.(message)
      replies.delete(message.id)
    })
  })
  const send = (message: object, onHolding?: () => void): Promise<ChildReport> => {
    const id = ++nextId
    if (onHolding !== undefined) holding.set(id, onHolding)
    const reply = new Promise<ChildReport>((resolve, reject) => {
      replies.set(id, resolve)
      setTimeout(() => reject(new Error(`message ${id} got no reply in 15 s`)), 15_000).unref()
    })
    child.send({ id, ...message })
    return reply
  }
  async function freeze(): Promise<void> {
    child.kill('SIGSTOP')
    frozen = true
    for (let i = 0; i < 1000 && processState(child.pid!) !== 'T'; i++) await sleep(1)
  }
  function thaw(): void {
    child.kill('SIGCONT')
    frozen = false
  }
  return {
    invoke: (event = {}) => send({ op: 'invoke', event }),
    async invokeAcrossFreeze(holdMs, during, event = {}) {
      let taken!: () => void
      const held = new Promise<void>((resolve) => (taken = resolve))
      const reply = send({ op: 'invoke', event, holdMs }, taken)
      await held
      await freeze()
      try {
        await during()
      } finally {
        thaw()
      }
      return reply
    },
    freeze,
    thaw,
    async shutdown() {
      if (gone) return undefined
      if (frozen) child.kill('SIGCONT')
      const report = await send({ op: 'disconnect' }).catch(() => undefined)
      child.kill('SIGKILL')
      await exited
      return report
    },
  }
}

/** A direct connection to the real PostgreSQL, for pg_terminate_backend and checks. */
export async function pgAdmin(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: PG_URL })
  client.on('error', () => {})
  await client.connect()
  return client
}

/** Terminates every backend of `applicationName`; resolves with their pids once they are gone. */
export async function terminateBackends(admin: pg.Client, applicationName: string): Promise<number[]> {
  // Two steps: in one WHERE, nothing guarantees the filter runs before pg_terminate_backend().
  const { rows } = await admin.query<{ pid: number }>(
    "select pid from pg_stat_activity where datname = 'test' and application_name = $1",
    [applicationName],
  )
  const pids = rows.map((r) => r.pid)
  await admin.query('select pg_terminate_backend(pid) from unnest($1::int[]) as pid', [pids])
  for (let i = 0; i < 200; i++) {
    const left = await admin.query('select 1 from pg_stat_activity where pid = any($1::int[])', [pids])
    if (left.rowCount === 0) break
    await sleep(5)
  }
  return pids
}
