// A TCP proxy that misbehaves at random, from a seeded PRNG: per chunk forwarded (either way) it may
// drop the connection (destroy both sides: FIN, no RST), reset it (RST both sides) or delay the chunk
// (order kept); per new connection it may start a short spell of refusing new connections (each
// one reset at once); every tick it may kill a live connection, busy or idle. `calm()` stops all of
// it. The seed fixes the sequence of decisions; which chunk meets which decision still depends on
// timing, so a replay with the same seed is close to, not exactly, the same run.
import { randomInt } from 'node:crypto'
import net from 'node:net'
import type { AddressInfo } from 'node:net'

export type FaultKind = 'drop' | 'reset' | 'delay' | 'refuse'

export interface ChaosRates {
  /** Probability per chunk of ending both sides with FIN (the chunk is lost). */
  drop: number
  /** Probability per chunk of resetting both sides (RST; the chunk is lost). */
  reset: number
  /** Probability per chunk of holding it for `delayMs` (later chunks of that direction wait behind it). */
  delay: number
  delayMs: readonly [number, number]
  /** Probability per new connection of refusing it and every new one for `refuseMs`. */
  refuse: number
  refuseMs: readonly [number, number]
  /** Probability per tick of killing one live connection (half drop, half reset), idle or busy. */
  kill: number
  tickMs: number
}

export interface ChaosProxy {
  readonly port: number
  readonly seed: number
  /** Faults injected so far, by kind (`refuse` counts refused connections). */
  readonly faults: Readonly<Record<FaultKind, number>>
  readonly openConnections: number
  /** From now on forward faithfully: no fault, no delay, no refusal. */
  calm(): void
  close(): Promise<void>
}

/** The seed from LAZYDB_CHAOS_SEED when set, else a fresh random one. */
export function chaosSeed(): number {
  const fixed = process.env.LAZYDB_CHAOS_SEED
  if (fixed !== undefined && fixed !== '') {
    const seed = Number(fixed)
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new Error(`LAZYDB_CHAOS_SEED must be a non-negative integer, got ${fixed}`)
    }
    return seed >>> 0
  }
  return randomInt(2 ** 31)
}

/** mulberry32: a small, fast, seedable PRNG giving floats in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Runs actions in order, each no earlier than its own delay allows. */
class Lane {
  #queue: Array<{ at: number; run: () => void }> = []
  #timer: ReturnType<typeof setTimeout> | undefined

  push(run: () => void, delayMs: number): void {
    const now = performance.now()
    if (delayMs <= 0 && this.#queue.length === 0) {
      run()
      return
    }
    const last = this.#queue.at(-1)?.at ?? 0
    this.#queue.push({ at: Math.max(last, now + delayMs), run })
    this.#arm()
  }

  clear(): void {
    this.#queue = []
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #arm(): void {
    if (this.#timer !== undefined || this.#queue.length === 0) return
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined
        const now = performance.now()
        while (this.#queue.length > 0 && this.#queue[0]!.at <= now + 0.5) this.#queue.shift()!.run()
        this.#arm()
      },
      Math.max(0, this.#queue[0]!.at - performance.now()),
    )
  }
}

interface Pair {
  client: net.Socket
  upstream: net.Socket
  kill(kind: 'drop' | 'reset'): void
}

export interface ChaosProxyOptions {
  target: { host: string; port: number }
  rates: ChaosRates
  /** Defaults to chaosSeed(): LAZYDB_CHAOS_SEED, else random. */
  seed?: number
}

export async function startChaosProxy(options: ChaosProxyOptions): Promise<ChaosProxy> {
  const seed = options.seed ?? chaosSeed()
  const random = prng(seed)
  const between = ([low, high]: readonly [number, number]) => low + random() * (high - low)
  let rates: ChaosRates = { ...options.rates }
  const faults: Record<FaultKind, number> = { drop: 0, reset: 0, delay: 0, refuse: 0 }
  const live = new Set<Pair>()
  let refuseUntil = 0

  const server = net.createServer((client) => {
    const now = performance.now()
    if (now < refuseUntil || (rates.refuse > 0 && random() < rates.refuse)) {
      if (now >= refuseUntil) refuseUntil = now + between(rates.refuseMs)
      faults.refuse++
      client.on('error', () => {})
      client.resetAndDestroy()
      return
    }
    const upstream = net.connect(options.target.port, options.target.host)
    const toServer = new Lane()
    const toClient = new Lane()
    const pair: Pair = {
      client,
      upstream,
      kill(kind) {
        toServer.clear()
        toClient.clear()
        for (const socket of [client, upstream]) {
          try {
            if (kind === 'reset') socket.resetAndDestroy()
            else socket.destroy()
          } catch {
            socket.destroy()
          }
        }
      },
    }
    live.add(pair)

    // Each chunk meets at most one fault: lost with its connection, or late.
    const forward = (chunk: Buffer, to: net.Socket, lane: Lane) => {
      const roll = random()
      if (roll < rates.drop + rates.reset) {
        const kind = roll < rates.drop ? 'drop' : 'reset'
        faults[kind]++
        pair.kill(kind)
        return
      }
      let delayMs = 0
      if (roll < rates.drop + rates.reset + rates.delay) {
        faults.delay++
        delayMs = between(rates.delayMs)
      }
      lane.push(() => {
        if (!to.destroyed) to.write(chunk)
      }, delayMs)
    }
    client.on('data', (chunk: Buffer) => forward(chunk, upstream, toServer))
    upstream.on('data', (chunk: Buffer) => forward(chunk, client, toClient))
    // A side that closes (normally or not) ends the other once what it sent has gone through.
    client.on('close', () => toServer.push(() => upstream.end(), 0))
    upstream.on('close', () => {
      live.delete(pair)
      toClient.push(() => client.end(), 0)
    })
    client.on('error', () => upstream.destroy())
    upstream.on('error', () => client.destroy())
  })

  const ticker = setInterval(() => {
    if (live.size === 0 || rates.kill <= 0 || random() >= rates.kill) return
    const pairs = [...live]
    const victim = pairs[Math.floor(random() * pairs.length)]!
    const kind = random() < 0.5 ? 'drop' : 'reset'
    faults[kind]++
    victim.kill(kind)
  }, options.rates.tickMs)
  ticker.unref()

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port

  return {
    port,
    seed,
    faults,
    get openConnections() {
      return live.size
    },
    calm() {
      rates = { ...rates, drop: 0, reset: 0, delay: 0, refuse: 0, kill: 0 }
      refuseUntil = 0
    },
    async close() {
      clearInterval(ticker)
      for (const pair of live) pair.kill('drop')
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
