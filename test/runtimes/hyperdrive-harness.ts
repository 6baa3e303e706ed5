// Runs a built Worker in workerd with a Hyperdrive binding from a child process
// (fixtures/hyperdrive-child.mjs): Miniflare's own Hyperdrive proxy throws uncaught socket errors
// (ECONNRESET, EPIPE: cloudflare/workers-sdk#15768), which in the test process would fail the file
// whatever the Worker did. The child records them instead.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { expect } from 'vitest'
import { PG_URL } from '../support/postgres.js'
import { withTimeout } from './helpers.js'
import { COMPATIBILITY_DATE } from './miniflare.js'

const HARNESS = fileURLToPath(new URL('./fixtures/hyperdrive-child.mjs', import.meta.url))

export interface WorkerOutcome {
  path: string
  status: number | 'timeout'
  body: string
  rows?: Array<{ pid?: number; n?: number }>
}

export interface WorkerReport {
  outcomes: WorkerOutcome[]
  after: WorkerOutcome[]
  output: string
  /** The role's server connections once they reached `baseline` (or after 5 s), the Worker still running. */
  connections?: number
  proxyErrors: string[]
}

export interface WorkerPlan {
  steps: { paths: string[]; concurrent: boolean }[]
  maxTimeouts?: number
  /** Requested after the role's connections were counted, the Worker still running. */
  after?: string[]
}

export interface WorkerRun {
  modulesRoot: string
  origin: string
  bindings?: Record<string, string>
  /** Count this role's server connections after the plan, waiting for them to reach `baseline`. */
  count?: { role: string; baseline: number }
}

/** Runs `plan` against the Worker at `scriptPath` and returns what happened; rows parsed where JSON arrays. */
export async function runHyperdriveWorker(scriptPath: string, plan: WorkerPlan, run: WorkerRun): Promise<WorkerReport> {
  const child = spawn(process.execPath, [HARNESS, scriptPath, run.modulesRoot, COMPATIBILITY_DATE], {
    env: {
      ...process.env,
      HYPERDRIVE_ORIGIN: run.origin,
      BINDINGS: JSON.stringify(run.bindings ?? {}),
      PLAN: JSON.stringify(plan),
      ...(run.count === undefined
        ? {}
        : { ADMIN_URL: PG_URL, ROLE: run.count.role, BASELINE: String(run.count.baseline) }),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
  const code = await withTimeout(exited, 50_000, 'timeout' as const)
  if (code === 'timeout') child.kill('SIGKILL')
  expect(code, stderr.slice(0, 500)).toBe(0)
  const report = JSON.parse(stdout.trim().split('\n').at(-1)!) as WorkerReport
  for (const o of [...report.outcomes, ...report.after]) {
    try {
      const parsed: unknown = JSON.parse(o.body)
      if (Array.isArray(parsed)) o.rows = parsed
    } catch {}
  }
  return report
}
