/**
 * The common sign-in in one statement (`AccountStore.updateOwnTokens`): the caller's own row exists and no one
 * else's does, so no lock, no read and no merge in JavaScript are needed. Says "not applied" (undefined) for
 * the locked path to decide whenever the statement cannot be trusted to do the same as the merge would. Apart
 * from the sync so each of those cases is tested over a fake store, without a database.
 */
import type { AdapterAccount } from "./authjs-types.js"
import type { TokenCodec } from "./codec.js"
import { toAdapterAccount } from "./account-rows.js"
import { boundedStart } from "./bounded-wait.js"
import { AccountBusyError, AccountStoreError, TokenSyncError } from "./errors.js"
import { elapsedMs, publish } from "./observability.js"
import { storedTokens, type TokenSet } from "./policy/merge.js"
import type { AccountKey, AccountStore, UserId } from "./store.js"

/** What the one-statement sign-in reads of the sync: the store, its columns, codec and lock bound. */
export interface OneStatementSettings {
  store: Pick<AccountStore, "name" | "updateOwnTokens" | "findAccounts">
  columns: readonly string[]
  codec: TokenCodec | undefined
  reauthColumn: string | undefined
  expiryColumn: string | undefined
  /** The sync's lock bound: a pooled connection is waited for at most twice this. */
  lockTimeoutMs: number
}

/**
 * Writes `incoming` to `owner`'s row of `key` in one statement. Resolves to the stored account when it wrote
 * ("written" when the store returned only a count and the caller does not want the account; with `wanted`,
 * the row is read back, one more statement; null when it was unlinked since); undefined when it did not
 * apply: no such store method, nothing to write, a key held by another writer, no row of the owner's, rows
 * of someone else's, or a re-authentication mark or a refresh token's expiry to weigh against the stored
 * refresh token (which only the locked path reads). Not with a codec: the locked path decodes the stored
 * row before it writes, so a codec that fails leaves the row unwritten, and it migrates stale values.
 */
export async function signInInOneStatement(
  settings: OneStatementSettings,
  key: AccountKey,
  owner: UserId,
  incoming: TokenSet,
  wanted: boolean,
): Promise<AdapterAccount | null | "written" | undefined> {
  const { store, columns, codec, reauthColumn, expiryColumn, lockTimeoutMs } = settings
  if (!store.updateOwnTokens || codec || Object.keys(incoming).length === 0) return undefined
  if (reauthColumn && incoming.refresh_token !== undefined) return undefined
  // A refresh token without an expiry may have to clear the stored one: only the locked path reads it.
  if (expiryColumn && incoming.refresh_token !== undefined && incoming[expiryColumn] === undefined) return undefined
  const asked = performance.now()
  const update = store.updateOwnTokens.bind(store)
  // Bounded like the locked path: a pooled connection within 2 x lockTimeoutMs, or AccountBusyError and
  // nothing sent. In the database it waits for nothing (see AccountStore.updateOwnTokens).
  const written = await boundedStart(
    2 * lockTimeoutMs,
    () => new AccountBusyError(key.provider, lockTimeoutMs),
    (begin) => update(key, owner, incoming, begin),
  ).catch((error: unknown) => {
    if (error instanceof TokenSyncError) throw error
    throw new AccountStoreError(store.name, "an account write", error)
  })
  if (Array.isArray(written) ? written.length === 0 : written.written === 0) return undefined
  // The statement took the key's lock (without waiting) for as long as it ran.
  publish("lockWait", () => ({
    store: store.name,
    provider: key.provider,
    purpose: "sync",
    waitMs: elapsedMs(asked),
    outcome: "acquired",
  }))
  if (Array.isArray(written)) return toAdapterAccount(written[0]!, storedTokens(written[0]!.tokens, columns))
  if (!wanted) return "written"
  // Only a count came back (MariaDB): the stored account as it reads now; null if it was unlinked since.
  const row = (await store.findAccounts(String(owner), key.provider)).find(
    (found) => found.providerAccountId === key.providerAccountId,
  )
  return row ? toAdapterAccount(row, storedTokens(row.tokens, columns)) : null
}
