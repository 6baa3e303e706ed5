// Every check of what a caller passes at a public entry point, each entry point calling one checker
// first: clear LazyDbErrors that say the fix, and nothing of a value that may be a secret.
import { argumentError, configError, describeValue, isOptionsObject, quoted } from './errors.js'
import { HOOK_NAMES } from './hooks.js'
import { detectPlatform, type PlatformName } from './platform.js'
import type { Hooks, IsolationLevel, RetryOptions, Statement, Tracing, TransactionOptions } from './types.js'

/** The longest delay a timer can take: longer ones fire after about 1 ms in every JavaScript runtime. */
export const MAX_TIMER_MS = 2 ** 31 - 1

export const DEFAULT_IDLE_TIMEOUT_MS = 60_000
// 10 attempts: with these delays (25-50, 50-100, … ms, capped at 1 s) totalMs, not the count, ends a long outage.
export const DEFAULT_RETRY: Readonly<Required<RetryOptions>> = {
  attempts: 10,
  baseDelayMs: 50,
  maxDelayMs: 1000,
  totalMs: 5000,
}
export const PLATFORMS: readonly PlatformName[] = [
  'cloudflare',
  'vercel-edge',
  'vercel-node',
  'aws-lambda',
  'netlify',
  'node',
  'unknown',
]
const ISOLATION: readonly IsolationLevel[] = ['read uncommitted', 'read committed', 'repeatable read', 'serializable']

/** A number of milliseconds a timer can take; `what` names it in the message. */
export function isTimerMs(value: unknown, min = 0): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= min && value <= MAX_TIMER_MS
}

const TIMER_RANGE = `at most ${MAX_TIMER_MS} (2^31 − 1, about 24.8 days; longer timers fire at once)`

/** The registry-wide settings every database of a registry shares. */
export interface RegistrySettings {
  readonly hooks: Hooks
  readonly tracing: Tracing | undefined
  readonly retry: Readonly<Required<RetryOptions>>
  readonly platform: PlatformName
  readonly warn: boolean
  /** The registry's own idleTimeoutMs, if it set one (else each database takes its platform's default). */
  readonly idleTimeoutMs: number | undefined
}

/** Checks `new Registry(options)` besides the databases; returns the settings with defaults applied. */
export function checkRegistryOptions(options: unknown): RegistrySettings {
  if (!isOptionsObject(options)) {
    throw configError(
      undefined,
      `new Registry() expects an options object (got ${describeValue(options)})`,
      "Pass { database: process.env.DATABASE_URL ?? 'file:.data/app.db' }",
    )
  }
  if (options.extra !== undefined && !isOptionsObject(options.extra)) {
    throw configError(
      undefined,
      `extra must be an object of named databases (got ${describeValue(options.extra)})`,
      'Pass { extra: { analytics: process.env.ANALYTICS_URL } }',
    )
  }
  const hooks = checkHooks(options.on)
  if (options.warn !== undefined && typeof options.warn !== 'boolean') {
    throw configError(
      undefined,
      `warn must be a boolean (got ${describeValue(options.warn)})`,
      'Pass warn: false to silence NOT_CONNECTED',
    )
  }
  const idle = options.idleTimeoutMs
  if (idle !== undefined && !isTimerMs(idle)) {
    throw configError(
      undefined,
      `idleTimeoutMs must be a number of milliseconds ≥ 0, ${TIMER_RANGE} (got ${describeNumber(idle)})`,
      'Pass e.g. idleTimeoutMs: 60000',
    )
  }
  const platform = (options.platform ?? detectPlatform()) as PlatformName
  if (!PLATFORMS.includes(platform)) {
    throw configError(
      undefined,
      `unknown platform ${quoted(platform)}`,
      `Use one of ${PLATFORMS.join(', ')} or leave it out`,
    )
  }
  const tracing = options.tracing as Tracing | undefined
  if (tracing !== undefined && typeof (tracing as Partial<Tracing> | null)?.trace !== 'function') {
    throw configError(
      undefined,
      `tracing must be an object with a trace(operation, run) method (got ${describeValue(tracing)})`,
      "Pass tracing: otel() from '@lazydb/core/otel', or leave it out",
    )
  }
  const retry = checkRetry(options.retry)
  return { hooks, tracing, retry, platform, warn: options.warn !== false, idleTimeoutMs: idle }
}

function checkHooks(on: unknown): Hooks {
  if (on === undefined) return {}
  if (!isOptionsObject(on)) {
    throw configError(
      undefined,
      `on must be an object of hook functions (got ${describeValue(on)})`,
      'Pass { on: { warning: (w) => … } }',
    )
  }
  for (const [name, hook] of Object.entries(on)) {
    if (!(HOOK_NAMES as readonly string[]).includes(name)) {
      throw configError(undefined, `unknown hook ${quoted(`on.${name}`)}`, `Use ${HOOK_NAMES.join(', ')}`)
    }
    if (hook !== undefined && typeof hook !== 'function') {
      throw configError(
        undefined,
        `on.${name} must be a function (got ${describeValue(hook)})`,
        `Pass on: { ${name}: (event) => … }`,
      )
    }
  }
  return on as Hooks
}

function checkRetry(retry: unknown): Required<RetryOptions> {
  const checked = { ...DEFAULT_RETRY }
  if (retry === undefined) return checked
  if (!isOptionsObject(retry)) {
    throw configError(
      undefined,
      `retry must be an object (got ${describeValue(retry)})`,
      'Pass { retry: { attempts: 10, totalMs: 5000 } }',
    )
  }
  for (const [key, value] of Object.entries(retry)) {
    if (!(key in DEFAULT_RETRY)) {
      throw configError(
        undefined,
        `unknown retry option ${quoted(key)}`,
        `Use ${Object.keys(DEFAULT_RETRY).join(', ')}`,
      )
    }
    if (value === undefined) continue
    const name = key as keyof RetryOptions
    const ok = name === 'attempts' ? Number.isInteger(value) && (value as number) >= 1 : isTimerMs(value)
    if (!ok) {
      const expected = name === 'attempts' ? 'a whole number ≥ 1' : `a number of milliseconds ≥ 0, ${TIMER_RANGE}`
      throw configError(
        undefined,
        `retry.${name} must be ${expected} (got ${describeNumber(value)})`,
        `Pass e.g. retry: { ${name}: ${DEFAULT_RETRY[name]} }`,
      )
    }
    checked[name] = value as number
  }
  return checked
}

/** A per-database `idleTimeoutMs`. */
export function checkDatabaseIdleTimeout(alias: string, value: unknown): number | undefined {
  if (value === undefined) return undefined
  if (!isTimerMs(value)) {
    throw configError(
      alias,
      `idleTimeoutMs must be a number of milliseconds ≥ 0, ${TIMER_RANGE} (got ${describeNumber(value)})`,
      'Pass e.g. idleTimeoutMs: 60000',
    )
  }
  return value
}

export interface HandlerSettings {
  eager: boolean
  timeoutMs: number | undefined
}

/** Checks `handler(registry, fn, options)`. */
export function checkHandlerArguments(registryOk: boolean, fn: unknown, options: unknown): HandlerSettings {
  if (typeof fn !== 'function') {
    throw argumentError(
      'handler',
      `the second argument must be your function (got ${describeValue(fn)})`,
      'Call handler(registry, async (req) => …)',
    )
  }
  if (!registryOk) {
    throw argumentError(
      'handler',
      'the first argument must be a Registry or a function returning one',
      'Call handler(registry, fn) or handler((req, env) => Registry.fromEnv(env), fn)',
    )
  }
  if (options === undefined) return { eager: false, timeoutMs: undefined }
  if (!isOptionsObject(options)) {
    throw argumentError(
      'handler',
      `options must be an object (got ${describeValue(options)})`,
      'Pass { eager: true } or nothing',
    )
  }
  for (const key of Object.keys(options)) {
    if (key !== 'eager' && key !== 'timeoutMs') {
      throw argumentError(
        'handler',
        `unknown option ${quoted(key)}`,
        'Use eager and timeoutMs, or leave the options out',
      )
    }
  }
  if (options.eager !== undefined && typeof options.eager !== 'boolean') {
    throw argumentError(
      'handler',
      `eager must be a boolean (got ${describeValue(options.eager)})`,
      'Pass { eager: true } or leave it out',
    )
  }
  const timeoutMs = options.timeoutMs
  if (timeoutMs !== undefined && (!isTimerMs(timeoutMs) || timeoutMs <= 0)) {
    throw argumentError(
      'handler',
      `timeoutMs must be a number of milliseconds > 0, ${TIMER_RANGE} (got ${describeNumber(timeoutMs)})`,
      'Pass e.g. { timeoutMs: 25_000 }, below the platform timeout',
    )
  }
  return { eager: options.eager === true, timeoutMs }
}

/** Checks `registry.disconnect(options)`; returns whether it is forced. */
export function checkDisconnectOptions(options: unknown): boolean {
  if (options === undefined) return false
  if (!isOptionsObject(options)) {
    throw argumentError(
      'disconnect',
      `options must be an object (got ${describeValue(options)})`,
      'Pass { force: true } or nothing',
    )
  }
  for (const key of Object.keys(options)) {
    if (key !== 'force')
      throw argumentError('disconnect', `unknown option ${quoted(key)}`, 'Use force, or leave the options out')
  }
  if (options.force !== undefined && typeof options.force !== 'boolean') {
    throw argumentError(
      'disconnect',
      `force must be a boolean (got ${describeValue(options.force)})`,
      'Pass { force: true } or leave it out',
    )
  }
  return options.force === true
}

/** Checks `registry.using(name, options)`'s options; returns the schema, if any. */
export function checkUsingOptions(options: unknown, alias: string | undefined): string | undefined {
  if (options === undefined) return undefined
  if (!isOptionsObject(options)) {
    throw argumentError(
      'using',
      `options must be an object (got ${describeValue(options)})`,
      "Pass { schema: 'name' } or nothing",
      alias,
    )
  }
  for (const key of Object.keys(options)) {
    if (key !== 'schema')
      throw argumentError('using', `unknown option ${quoted(key)}`, "Pass { schema: 'name' } or nothing", alias)
  }
  return options.schema as string | undefined
}

/** Parameters are an array (positional) or a plain object (named): never a Map, a class instance or a typed array. */
export function isParams(params: unknown): boolean {
  if (Array.isArray(params)) return true
  if (typeof params !== 'object' || params === null) return false
  const proto = Object.getPrototypeOf(params)
  return proto === Object.prototype || proto === null
}

/** Checks `query(text, params)`; returns the error to reject with, or undefined when fine. */
export function queryArgumentsError(alias: string, text: unknown, params: unknown): Error | undefined {
  if (typeof text !== 'string') {
    return argumentError(
      'query',
      `the SQL text must be a string (got ${describeValue(text)})`,
      "Call query('select …', [params])",
      alias,
    )
  }
  if (params !== undefined && !isParams(params)) {
    return argumentError(
      'query',
      `params must be an array or an object of named values (got ${describeValue(params)})`,
      'Pass [a, b] for $1/? placeholders or { name: value } for :name',
      alias,
    )
  }
  return undefined
}

/** Checks `batch(statements)`. */
export function checkStatements(statements: unknown, alias: string): asserts statements is readonly Statement[] {
  if (!Array.isArray(statements)) {
    throw argumentError(
      'batch',
      `expected an array of { text, params? } (got ${describeValue(statements)})`,
      "Call batch([{ text: 'insert …', params: [1] }])",
      alias,
    )
  }
  // A for loop, not forEach: the holes of a sparse array are statements too, and bad ones.
  for (let index = 0; index < statements.length; index++) {
    const statement: unknown = statements[index]
    const s = statement as Statement | null
    const bad =
      typeof s !== 'object' ||
      s === null ||
      typeof s.text !== 'string' ||
      (s.params !== undefined && !isParams(s.params))
    if (bad) {
      throw argumentError(
        'batch',
        `statement ${index} must be { text: string, params?: array | object } (got ${describeValue(statement)})`,
        'Give every statement a text string',
        alias,
      )
    }
  }
}

/** Checks `transaction(fn, options)`. */
export function checkTransactionArguments(
  fn: unknown,
  options: unknown,
  alias: string,
): TransactionOptions | undefined {
  if (typeof fn !== 'function') {
    throw argumentError(
      'transaction',
      `expected a function (got ${describeValue(fn)})`,
      'Pass an async function: db.transaction(async (tx) => { … })',
      alias,
    )
  }
  if (options === undefined) return undefined
  if (!isOptionsObject(options)) {
    throw argumentError(
      'transaction',
      `options must be an object (got ${describeValue(options)})`,
      "Pass { isolationLevel: 'serializable', readOnly: true } or nothing",
      alias,
    )
  }
  const o = options as TransactionOptions
  if (o.isolationLevel !== undefined && !ISOLATION.includes(o.isolationLevel)) {
    throw argumentError(
      'transaction',
      `unknown isolationLevel ${quoted(o.isolationLevel)}`,
      `Use one of ${ISOLATION.join(', ')}`,
      alias,
    )
  }
  for (const flag of ['readOnly', 'deferrable'] as const) {
    if (o[flag] !== undefined && typeof o[flag] !== 'boolean') {
      throw argumentError('transaction', `${flag} must be a boolean`, `Pass ${flag}: true or leave it out`, alias)
    }
  }
  return o
}

/** Checks `Registry.fromEnv(env, options)`'s env. */
export function checkEnvSource(env: unknown): Record<string, unknown> {
  const source = env ?? (globalThis as { process?: { env?: Record<string, unknown> } }).process?.env
  if (typeof source !== 'object' || source === null) {
    throw configError(
      undefined,
      'Registry.fromEnv() found no environment',
      'Pass the env object your platform gives you: Registry.fromEnv(env)',
    )
  }
  return source as Record<string, unknown>
}

/** A number for a message: finite numbers as they are, anything else described (never a string's content). */
function describeNumber(value: unknown): string {
  return typeof value === 'number' ? String(value) : describeValue(value)
}
