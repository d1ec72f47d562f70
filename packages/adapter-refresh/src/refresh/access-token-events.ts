/**
 * What one getAccessToken call publishes (observability.ts): its outcome on the access-token channel and, when
 * it fails, the failure channel, with its duration and the error's stable code, never a token. Kept apart so
 * the engine reads as the work itself, and tested on the real channels without a database.
 */
import { elapsedMs, errorCodeOf, errorNameOf, providerOf, publish } from "../observability.js"
import type { AccessTokenResult } from "./engine-types.js"

/** A getAccessToken answer and whether this process's token cache served it. */
export interface ServedAccessToken {
  result: AccessTokenResult
  cached: boolean
}

/** Runs `serve` for the call `params` to the store `storeName`, publishing its outcome; returns its result. */
export async function observeAccessToken(
  storeName: string,
  params: unknown,
  serve: () => Promise<ServedAccessToken>,
): Promise<AccessTokenResult> {
  const started = performance.now()
  const provider = providerOf(params)
  try {
    const { result, cached } = await serve()
    publish("accessToken", () => ({
      store: storeName,
      provider,
      outcome: cached ? "cached" : result.refreshed ? "refreshed" : "fresh",
      notPersisted: result.persistError !== undefined,
      durationMs: elapsedMs(started),
    }))
    return result
  } catch (error) {
    const errorCode = errorCodeOf(error)
    publish("accessToken", () => ({
      store: storeName,
      provider,
      outcome: "failed",
      notPersisted: false,
      durationMs: elapsedMs(started),
      errorCode,
    }))
    publish("failure", () => ({
      operation: "access-token",
      store: storeName,
      provider,
      errorCode,
      errorName: errorNameOf(error),
    }))
    throw error
  }
}
