// Shared by the secrets-*.test.ts files: distinctive secrets, every way a value gets printed, and
// a leak report that names the value, the rendering and the secret (with a little context).
import { randomBytes } from 'node:crypto'
import util from 'node:util'
import { expect } from 'vitest'
import type { Hooks } from '@lazydb/core'
import { exposed } from '../support/exposed.js'

/**
 * A per-run suffix: the full secret never appears in any source file, so a scan of globalThis
 * (where vitest keeps the test's source) finds only what lazydb itself kept.
 */
const RUN = randomBytes(4).toString('hex')

export const SECRET = {
  password: `Pw-9f3k2LQ-${RUN}`,
  urlToken: `tok-7HJ2Q9-${RUN}`,
  asyncFnToken: `fnTok-51ZK8-${RUN}`,
  syncFnToken: `fnTokSync-6WQ3-${RUN}`,
  encryptionKey: `encKey-Q8Z3V1-${RUN}`,
} as const

export interface Secret {
  name: string
  value: string
}

export const secret = (name: keyof typeof SECRET): Secret => ({ name, value: SECRET[name] })

/** How a value is printed: deep and default inspect, console.log's %o, JSON. */
export function renderings(value: unknown): Array<[how: string, text: string]> {
  let json: string
  try {
    json = JSON.stringify(value) ?? ''
  } catch (error) {
    // Circular structures (and BigInts) cannot be serialized: nothing is printed that way.
    json = `[JSON.stringify threw ${(error as Error).name}]`
  }
  return [
    ['util.inspect depth 10 showHidden getters', util.inspect(value, { depth: 10, showHidden: true, getters: true })],
    ['util.inspect default', util.inspect(value)],
    ["util.format('%o')", util.format('%o', value)],
    ['JSON.stringify', json],
  ]
}

/** The error and every cause below it, each printed every way, plus exposed() of the whole chain. */
export function errorRenderings(error: unknown): Array<[how: string, text: string]> {
  const out: Array<[string, string]> = [['exposed()', exposed(error)]]
  let current: unknown = error
  for (let depth = 0; depth < 8 && current !== undefined && current !== null; depth++) {
    const prefix = depth === 0 ? '' : `cause #${depth}: `
    for (const [how, text] of renderings(current)) out.push([`${prefix}${how}`, text])
    const e = current as { cause?: unknown; sourceError?: unknown }
    current = typeof current === 'object' ? (e.cause ?? e.sourceError) : undefined
  }
  return out
}

/** One line per secret found: where, how, which, and the text around its first occurrence. */
export type Texts = ReadonlyArray<readonly [how: string, text: string]>

export function leaks(label: string, texts: Texts, secrets: readonly Secret[]): string[] {
  const found: string[] = []
  for (const [how, text] of texts) {
    for (const { name, value } of secrets) {
      const at = text.indexOf(value)
      if (at < 0) continue
      const around = text.slice(Math.max(0, at - 70), at + value.length + 30).replace(/\s+/g, ' ')
      found.push(`${label} via ${how} shows ${name}: …${around}…`)
    }
  }
  return found
}

export function expectNoLeaks(found: readonly string[]): void {
  expect(found, 'secrets visible in printed output').toEqual([])
}

export type HookEvent = { hook: keyof Hooks; event: unknown }

/** Every hook, each recording what it receives. */
export function recordingHooks(events: HookEvent[]): Required<Hooks> {
  const record = (hook: keyof Hooks) => (event: unknown) => void events.push({ hook, event })
  return {
    connect: record('connect'),
    close: record('close'),
    query: record('query'),
    retry: record('retry'),
    warning: record('warning'),
    error: record('error'),
  }
}

/** Resolves to the promise's outcome, or rejects once `ms` pass first (so a hang fails fast). */
export function settledWithin<T>(promise: Promise<T>, ms: number, what = 'operation'): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} still pending after ${ms} ms`)), ms)
  })
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer))
}

/** The rejection of `promise` (within `ms`); fails if it resolves. */
export async function rejectionOf(promise: Promise<unknown>, ms = 5000, what = 'operation'): Promise<unknown> {
  const outcome = await settledWithin(
    promise.then(
      () => ({ ok: true as const }),
      (error: unknown) => ({ ok: false as const, error }),
    ),
    ms,
    what,
  )
  if (outcome.ok) throw new Error(`${what} was expected to fail but succeeded`)
  return outcome.error
}

/** What a synchronous call throws; fails if it does not throw. */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  throw new Error('expected the call to throw')
}

/** Few, fast retries: a connect failure settles in well under a second. */
export const QUICK_RETRY = { attempts: 2, baseDelayMs: 1, maxDelayMs: 5, totalMs: 300 } as const

/** What a rejecting endpoint saw in one request. */
export interface Received {
  authorization: string | null
  connectionString: string | null
}

/**
 * A Neon SQL-over-HTTP `fetchFunction` standing in for a server that rejects every request with
 * a Postgres error (HTTP 400, the fields the driver turns into a NeonDbError) quoting what it got.
 */
export function neonRejectingFetch(reply: (got: Received) => Record<string, string>): {
  fetchFunction: (input: string, init?: unknown) => Promise<Response>
  received: Received[]
} {
  const received: Received[] = []
  const fetchFunction = async (_input: string, init?: unknown) => {
    const headers = new Headers((init as { headers?: HeadersInit } | undefined)?.headers)
    const got = { authorization: headers.get('authorization'), connectionString: headers.get('neon-connection-string') }
    received.push(got)
    return new Response(JSON.stringify(reply(got)), { status: 400, headers: { 'content-type': 'application/json' } })
  }
  return { fetchFunction, received }
}

/**
 * The texts of an error chain a user reads, without stack frames (their file paths could hold any
 * short string): String(), message, and own fields as JSON minus `stack`, for each error and cause.
 */
export function messageTexts(error: unknown): Array<[how: string, text: string]> {
  const out: Array<[string, string]> = []
  let current: unknown = error
  for (let depth = 0; depth < 8 && current !== undefined && current !== null; depth++) {
    const e = current as Error & Record<string, unknown>
    const at = depth === 0 ? 'error' : `cause #${depth}`
    out.push([`${at} String()`, String(e)], [`${at} .message`, String(e.message)])
    const fields = Object.getOwnPropertyNames(e).filter((name) => name !== 'stack')
    try {
      out.push([`${at} own fields as JSON`, JSON.stringify(e, fields)])
    } catch {}
    current = e.cause ?? e.sourceError
  }
  return out
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** Occurrences of `value` as a whole token: not preceded or followed by a letter or digit. */
export function standaloneOccurrences(text: string, value: string): number {
  return text.match(new RegExp(`(?<![A-Za-z0-9])${escapeRegExp(value)}(?![A-Za-z0-9])`, 'g'))?.length ?? 0
}

/** Leaks of short secrets, counted only where they stand as a whole token. */
export function standaloneLeaks(label: string, texts: Texts, secrets: readonly Secret[]): string[] {
  const found: string[] = []
  for (const [how, text] of texts) {
    for (const { name, value } of secrets) {
      const n = standaloneOccurrences(text, value)
      if (n === 0) continue
      found.push(`${label} via ${how} shows ${name} ${JSON.stringify(value)} as a token ${n}×: ${text.slice(0, 300)}`)
    }
  }
  return found
}
