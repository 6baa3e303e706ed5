import type { DriverClient } from './contract.js'

/** A pool client that opens its first connection on `open()`, so a failure surfaces as a connect failure. */
export interface OpensFirst extends DriverClient {
  open(): Promise<void>
}

/** `client` with its first connection open; closed again (forced) if opening fails. */
export async function opened<C extends OpensFirst>(client: C): Promise<C> {
  try {
    await client.open()
  } catch (error) {
    await client.close(true)
    throw error
  }
  return client
}
