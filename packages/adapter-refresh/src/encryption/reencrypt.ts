import { staleFields, type TokenCodec } from "../codec.js"
import { resolveAccountStore, type TokenSyncDatabase } from "../detect-store.js"
import { AccountStoreError, TokenDecryptionError, TokenSyncError, UnsupportedDatabaseError, type TokenDecryptionFailure } from "../errors.js"
import type { AccountKey, AccountStore, StoredAccountRow, TokenColumnValue } from "../store.js"

/**
 * The re-encryption job: walks the account table in key order and rewrites, with the codec's current
 * key, every token value that is not on it (plaintext rows from before encryption, values under an
 * older key). Each row is rewritten in its own transaction under the same per-account lock as sign-ins
 * and refreshes, after re-reading it, so it is safe to run while they go on: a value a refresh wrote
 * meanwhile is current and skipped, never overwritten with an older one.
 */

export interface ReencryptOptions {
  /** The codec the app uses (e.g. `tokenEncryption(...)`); it must say which values are current (`isCurrent`). */
  codec: TokenCodec
  /** Rows read per page. Default 100. */
  batchSize?: number
  /** Resume after this key: the `cursor` of the last progress report of an interrupted run. */
  after?: AccountKey
  /** Stops after the row in progress; the result then has `aborted: true` and a cursor to resume from. */
  signal?: AbortSignal
  /** Called after every page (and once at the end) with the counts so far and the cursor. */
  onProgress?: (progress: ReencryptProgress) => void | Promise<void>
  /** Per-account lock bound, as for sign-ins. */
  lockTimeoutMs?: number
}

export interface ReencryptProgress {
  /** Rows looked at. */
  scanned: number
  /** Rows rewritten with the current key. */
  rewritten: number
  /** Rows already entirely on the current key (or rewritten meanwhile by a sign-in or refresh). */
  current: number
  /** Rows left as they are because a value did not decrypt (see `failures`). */
  failed: number
  /** The last key done: pass it as `after` to resume. Undefined before the first row. */
  cursor: AccountKey | undefined
  /** The table has been walked to its end. */
  done: boolean
}

export interface ReencryptFailure extends AccountKey {
  field: string
  reason: TokenDecryptionFailure
}

export interface ReencryptResult extends ReencryptProgress {
  aborted: boolean
  /** Rows that could not be decrypted, by key and column (never values). */
  failures: ReencryptFailure[]
}

/**
 * Re-encrypts every account row of `db` (a Prisma Client, Kysely instance, node-postgres Pool, or an
 * `AccountStore` with `scanAccounts`) to the codec's current key. Resumable: it is idempotent, and
 * `after` skips the rows already walked. Throws `AccountStoreError` when the store fails (the rows done
 * so far stay done; resume from the last reported cursor).
 */
export async function reencryptAccounts(db: TokenSyncDatabase, options: ReencryptOptions): Promise<ReencryptResult> {
  const store = resolveAccountStore(db)
  const { codec, signal, onProgress } = options
  if (!store.scanAccounts) throw new UnsupportedDatabaseError(`The ${store.name} account store has no scanAccounts; reencryptAccounts needs it.`)
  if (!codec?.isCurrent) throw new UnsupportedDatabaseError("reencryptAccounts needs a codec with isCurrent, such as tokenEncryption(...).")
  const batchSize = options.batchSize ?? 100
  if (!Number.isSafeInteger(batchSize) || batchSize <= 0) throw new UnsupportedDatabaseError("reencryptAccounts: batchSize must be a positive integer.")

  const progress: ReencryptProgress = { scanned: 0, rewritten: 0, current: 0, failed: 0, cursor: options.after, done: false }
  const failures: ReencryptFailure[] = []
  let aborted = false
  const report = async () => onProgress?.({ ...progress })

  walk: for (;;) {
    const page = await storeCall(store, () => store.scanAccounts!({ ...(progress.cursor ? { after: progress.cursor } : {}), limit: batchSize }))
    for (const row of page) {
      if (signal?.aborted) {
        aborted = true
        break walk
      }
      const key = { provider: row.provider, providerAccountId: row.providerAccountId }
      // Most rows of a rotated table are current: only stale ones take a lock.
      const outcome = staleFields(row.tokens, codec).length === 0 ? "current" : await rewrite(store, codec, key, options.lockTimeoutMs)
      progress.scanned++
      if (typeof outcome === "object") {
        progress.failed++
        failures.push({ ...key, ...outcome })
      } else progress[outcome]++
      progress.cursor = key
    }
    if (page.length < batchSize) {
      progress.done = true
      break
    }
    await report()
  }
  await report()
  return { ...progress, aborted, failures }
}

async function rewrite(
  store: AccountStore,
  codec: TokenCodec,
  key: AccountKey,
  lockTimeoutMs: number | undefined,
): Promise<"rewritten" | "current" | { field: string; reason: TokenDecryptionFailure }> {
  return storeCall(store, () =>
    store.withAccountLock(
      key,
      async (account) => {
        // Re-read under the lock: a sign-in or refresh may have written since the page was read.
        const row: StoredAccountRow | null = await account.read()
        if (!row) return "current"
        const stale = staleFields(row.tokens, codec)
        if (stale.length === 0) return "current"
        const patch: Record<string, TokenColumnValue> = {}
        for (const field of stale) {
          try {
            const plain = await codec.decode(row.tokens[field] as string, field, key)
            patch[field] = await codec.encode(plain, field, key)
          } catch (error) {
            // Nothing is written for this row: a value that does not decrypt is left for a human.
            if (error instanceof TokenDecryptionError) return { field, reason: error.reason }
            throw error
          }
        }
        await account.update({ tokens: patch })
        return "rewritten"
      },
      lockTimeoutMs !== undefined ? { lockTimeoutMs } : undefined,
    ),
  )
}

async function storeCall<T>(store: AccountStore, run: () => Promise<T>): Promise<T> {
  try {
    return await run()
  } catch (error) {
    if (error instanceof TokenSyncError) throw error
    throw new AccountStoreError(store.name, "re-encryption", error)
  }
}
