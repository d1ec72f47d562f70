/**
 * What one sign-in write or link publishes (observability.ts): its outcome on the sync channel, read from the
 * writes it counted under the lock, and, when it fails, the failure channel, with the error's stable code,
 * never a token. Kept apart so the sync reads as the write itself; tested on the real channels, no database.
 */
import type { WriteCounts } from "./account-lock.js"
import { elapsedMs, errorCodeOf, errorNameOf, providerOf, publish } from "./observability.js"

/**
 * Runs `write` (a "link" or "sync" of `input` to the store `storeName`) with fresh write counts and publishes
 * its outcome: "skipped" for a null result (no owner to write for), else by the counts.
 */
export async function observeSync<T>(
  storeName: string,
  input: unknown,
  mode: "link" | "sync",
  write: (counts: WriteCounts) => Promise<T>,
): Promise<T> {
  const started = performance.now()
  const counts: WriteCounts = { inserts: 0, updates: 0 }
  const provider = providerOf(input)
  try {
    const result = await write(counts)
    const outcome =
      result === null ? "skipped" : counts.inserts > 0 ? "inserted" : counts.updates > 0 ? "updated" : "unchanged"
    publish("sync", () => ({ store: storeName, provider, mode, outcome, durationMs: elapsedMs(started) }))
    return result
  } catch (error) {
    publish("sync", () => ({
      store: storeName,
      provider,
      mode,
      outcome: "failed",
      durationMs: elapsedMs(started),
      errorCode: errorCodeOf(error),
    }))
    publish("failure", () => ({
      operation: mode,
      store: storeName,
      provider,
      errorCode: errorCodeOf(error),
      errorName: errorNameOf(error),
    }))
    throw error
  }
}
