import { staleFields, type TokenCodec } from "../codec.js"
import { resolveAccountStore, type TokenSyncDatabase } from "../detect-store.js"
import {
  AccountStoreError,
  InvalidOptionsError,
  TokenDecryptionError,
  TokenSyncError,
  UnsupportedDatabaseError,
  type TokenDecryptionFailure,
} from "../errors.js"
import type { AccountKey, AccountStore, LockedAccount, StoredAccountRow, TokenColumnValue } from "../store.js"

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

/** Counts and resume cursor, reported after every page by {@link reencryptAccounts}. */
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

/** A value that did not decrypt: its account, column and reason (never the value). */
export interface ReencryptFailure extends AccountKey {
  field: string
  reason: TokenDecryptionFailure
}

/** What {@link reencryptAccounts} resolves to. */
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
 *
 * @returns The counts, the failures (by key and column) and the cursor to resume from.
 * @throws {@link UnsupportedDatabaseError} for a `db` it cannot use, or a store without `scanAccounts`.
 * @throws {@link InvalidOptionsError} for a codec without `isCurrent`, or a batch size that cannot work.
 * @throws {@link AccountStoreError} when the store fails.
 * @example
 * ```ts
 * const result = await reencryptAccounts(prisma, { codec: tokenEncryption({ keys: process.env.TOKEN_KEYS }) })
 * ```
 */
export async function reencryptAccounts(db: TokenSyncDatabase, options: ReencryptOptions): Promise<ReencryptResult> {
  const store = resolveAccountStore(db)
  const { codec, signal, onProgress } = options
  if (!store.scanAccounts)
    throw new UnsupportedDatabaseError(
      `The ${store.name} account store has no scanAccounts; reencryptAccounts needs it.`,
    )
  if (typeof codec?.isCurrent !== "function")
    throw new InvalidOptionsError(
      "codec",
      "reencryptAccounts needs a codec with isCurrent, such as tokenEncryption(...).",
    )
  const batchSize = options.batchSize ?? 100
  if (!Number.isSafeInteger(batchSize) || batchSize <= 0)
    throw new InvalidOptionsError("batchSize", "reencryptAccounts: batchSize must be a positive integer.")

  const progress: ReencryptProgress = {
    scanned: 0,
    rewritten: 0,
    current: 0,
    failed: 0,
    cursor: options.after,
    done: false,
  }
  const failures: ReencryptFailure[] = []
  let aborted = false
  const report = async () => onProgress?.({ ...progress })

  walk: for (;;) {
    const page = groupByKey(
      await storeCall(store, () =>
        store.scanAccounts!({ ...(progress.cursor ? { after: progress.cursor } : {}), limit: batchSize }),
      ),
    )
    for (const { key, rows } of page) {
      if (signal?.aborted) {
        aborted = true
        break walk
      }
      // Most rows of a rotated table are current: only a key with a stale row takes a lock.
      const stale = rows.some((row) => staleFields(row.tokens, codec).length > 0)
      const outcome = stale ? await rewrite(store, codec, key, options.lockTimeoutMs) : "current"
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
  const lockOptions = lockTimeoutMs !== undefined ? { lockTimeoutMs } : undefined
  try {
    return await storeCall(store, () =>
      store.withAccountLock(key, (account) => rewriteLocked(account, codec, key), lockOptions),
    )
  } catch (error) {
    if (error instanceof Undecryptable) return { field: error.field, reason: error.reason }
    throw error
  }
}

/** Under the key's lock: re-encrypts the stale values of each owner's rows. */
async function rewriteLocked(
  account: LockedAccount,
  codec: TokenCodec,
  key: AccountKey,
): Promise<"rewritten" | "current"> {
  // Re-read under the lock: a sign-in or refresh may have written since the page was read.
  const rows = await account.readAll()
  // Updates are scoped per owner: the first row of each owner speaks for that owner's rows.
  const patches = new Map<string, Record<string, TokenColumnValue>>()
  for (const row of rows) {
    if (patches.has(row.userId)) continue
    const patch: Record<string, TokenColumnValue> = {}
    for (const field of staleFields(row.tokens, codec)) {
      try {
        patch[field] = await codec.encode(await codec.decode(row.tokens[field] as string, field, key), field, key)
      } catch (error) {
        // Nothing is written for this key (the transaction rolls back): an undecryptable value is left for a human.
        if (error instanceof TokenDecryptionError) throw new Undecryptable(field, error.reason)
        throw error
      }
    }
    patches.set(row.userId, patch)
  }
  let written = false
  for (const [userId, patch] of patches) {
    if (Object.keys(patch).length === 0) continue
    await account.update({ tokens: patch }, { userId })
    written = true
  }
  return written ? "rewritten" : "current"
}

/** Thrown inside the lock to roll the key's transaction back; turned into a reported failure. */
class Undecryptable extends Error {
  constructor(
    readonly field: string,
    readonly reason: TokenDecryptionFailure,
  ) {
    super("undecryptable")
  }
}

function groupByKey(rows: StoredAccountRow[]): { key: AccountKey; rows: StoredAccountRow[] }[] {
  const groups: { key: AccountKey; rows: StoredAccountRow[] }[] = []
  for (const row of rows) {
    const last = groups.at(-1)
    if (last && last.key.provider === row.provider && last.key.providerAccountId === row.providerAccountId)
      last.rows.push(row)
    else groups.push({ key: { provider: row.provider, providerAccountId: row.providerAccountId }, rows: [row] })
  }
  return groups
}

async function storeCall<T>(store: AccountStore, run: () => Promise<T>): Promise<T> {
  try {
    return await run()
  } catch (error) {
    if (error instanceof TokenSyncError || error instanceof Undecryptable) throw error
    throw new AccountStoreError(store.name, "re-encryption", error)
  }
}
