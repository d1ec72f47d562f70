import type { AdapterAccount, AdapterAccountType } from "@auth/core/adapters"
import { decodeTokens, decodeTokensLeniently, encodeTokens, staleFields, type TokenCodec } from "./codec.js"
import { AccountLinkedToAnotherUserError, AccountStoreError, TokenSyncError } from "./errors.js"
import {
  accountKeyOf,
  incomingTokens,
  mergeTokens,
  optionalUserId,
  requiredField,
  storedTokens,
  tokenColumns,
  type TokenSet,
} from "./policy/merge.js"
import { reauthMarkChange, type TokenWriteSource } from "./refresh/reauth.js"
import type { AccountKey, AccountLockOptions, AccountStore, LockedAccount, StoredAccountRow } from "./store.js"

/**
 * The single write path for account tokens: validate, lock the account's key, read, merge, write,
 * commit. `linkAccount`, `syncAccount`, `getUserByAccount` and `events.signIn` all end here.
 */

export interface AccountSyncOptions {
  /** Extra token columns to write besides the seven standard ones (they must exist in your schema). */
  tokenFields?: readonly string[]
  /** Encryption-at-rest seam; see `TokenCodec`. */
  codec?: TokenCodec
  /** Clock in epoch milliseconds, for `expires_in`. Defaults to `Date.now`. */
  now?: () => number
  /**
   * Column holding the "needs re-authentication" mark (see refresh/reauth.ts). It is read with the
   * tokens, never taken from incoming tokens, and cleared by the writes `reauthMarkChange` says.
   */
  reauthColumn?: string
}

/**
 * What a caller may hand to `syncAccount`: the keys plus any tokens (a raw Auth.js `account`, a token
 * response), `userId` optional. Values are validated at run time, so the fields are loosely typed.
 */
export interface SyncableAccount extends AccountKey {
  userId?: string | number
  type?: string
  [field: string]: unknown
}

export interface AccountSync {
  readonly columns: readonly string[]
  upsert(account: unknown, mode: "link" | "sync"): Promise<AdapterAccount | null>
  /** Runs `work` under the account's lock with a decoded view of the stored tokens. */
  withStoredAccount<T>(
    key: AccountKey,
    work: (stored: StoredView | null, locked: LockedAccount) => Promise<T>,
    lockOptions?: AccountLockOptions,
  ): Promise<T>
  /** Merges and writes `tokens` inside a `withStoredAccount` callback; returns the stored account. */
  writeMerged(locked: LockedAccount, stored: StoredView, tokens: TokenSet, source?: TokenWriteSource): Promise<AdapterAccount>
  /** A decoded view of a row read outside the lock (the refresh fast path). */
  viewOf(row: StoredAccountRow): Promise<StoredView>
  /** The AdapterAccount of a view. */
  toAdapterAccount(view: StoredView): AdapterAccount
  /**
   * An account object the wrapped adapter read straight from the table (its `getAccount`,
   * `unlinkAccount`), with the codec's columns decrypted. "strict" throws `TokenDecryptionError` on a
   * value that fails; "drop" leaves such a column out instead.
   */
  decodeAccount<T extends object>(account: T, mode: "strict" | "drop"): Promise<T>
  /** Writes one column as is, bypassing the merge policy: only for the re-authentication mark. */
  writeMark(locked: LockedAccount, column: string, value: string | null): Promise<void>
}

export interface StoredView {
  row: StoredAccountRow
  tokens: TokenSet
  /**
   * Columns the codec could not decrypt, read as null (sign-in writes only: incoming tokens may
   * replace them; a column the incoming set does not replace is left in the row untouched).
   */
  undecryptable?: readonly string[]
}

export function createAccountSync(store: AccountStore, options: AccountSyncOptions = {}): AccountSync {
  const reauthColumn = options.reauthColumn
  const columns = tokenColumns(reauthColumn ? [...(options.tokenFields ?? []), reauthColumn] : options.tokenFields)
  const now = options.now ?? Date.now
  const codec = options.codec

  function toAdapterAccount(row: { userId: string | number; type: string } & AccountKey, tokens: TokenSet): AdapterAccount {
    const account: Record<string, unknown> = {
      userId: row.userId,
      type: row.type as AdapterAccountType,
      provider: row.provider,
      providerAccountId: row.providerAccountId,
    }
    for (const [column, value] of Object.entries(tokens)) if (value !== null) account[column] = value
    return account as unknown as AdapterAccount
  }

  async function locked<T>(key: AccountKey, work: (account: LockedAccount) => Promise<T>, lockOptions?: AccountLockOptions): Promise<T> {
    try {
      return await store.withAccountLock(key, work, lockOptions)
    } catch (error) {
      if (error instanceof TokenSyncError) throw error
      throw new AccountStoreError(store.name, "an account write", error)
    }
  }

  const keyOfRow = (row: StoredAccountRow): AccountKey => ({ provider: row.provider, providerAccountId: row.providerAccountId })

  /** Decrypts every codec column; a value that fails throws `TokenDecryptionError` (reads, refresh). */
  async function viewOf(row: StoredAccountRow): Promise<StoredView> {
    return { row, tokens: await decodeTokens(storedTokens(row.tokens, columns), codec, keyOfRow(row)) }
  }

  /**
   * The stored row under the lock. Sign-ins read it leniently: new tokens from the provider are
   * authoritative and may replace a value that no longer decrypts (a lost key must not lock the user
   * out for good), while a column they do not bring is never written.
   */
  async function readView(account: LockedAccount, lenient = false): Promise<StoredView | null> {
    const row = await account.read()
    if (!row) return null
    if (!lenient) return viewOf(row)
    const { tokens, undecryptable } = await decodeTokensLeniently(storedTokens(row.tokens, columns), codec, keyOfRow(row))
    return { row, tokens, undecryptable }
  }

  async function writeMerged(
    account: LockedAccount,
    stored: StoredView,
    incoming: TokenSet,
    newOwner?: string,
    source: TokenWriteSource = "sign-in",
  ): Promise<AdapterAccount> {
    const merge = mergeTokens(stored.tokens, incoming)
    // The one explicit exception to "never write null": clearing the re-authentication mark.
    const clear = reauthColumn ? reauthMarkChange(stored.tokens, incoming, reauthColumn, source) : {}
    const merged = { ...merge.merged, ...clear }
    const changes: TokenSet = { ...merge.changes, ...clear }
    // Lazy migration: values in clear (from before encryption) or under an older key are rewritten with
    // the current key whenever the row is written anyway. An undecryptable value reads as null: skipped.
    if (Object.keys(changes).length > 0) {
      for (const field of staleFields(stored.row.tokens, codec)) if (!(field in changes) && merged[field] != null) changes[field] = merged[field]
    }
    if (Object.keys(changes).length > 0 || newOwner !== undefined) {
      await account.update({
        ...(newOwner !== undefined ? { userId: newOwner } : {}),
        tokens: await encodeTokens(changes, codec, keyOfRow(stored.row)),
      })
    }
    return toAdapterAccount({ ...stored.row, userId: newOwner ?? stored.row.userId }, merged)
  }

  return {
    columns,

    async upsert(input, mode) {
      // Validate everything before touching the database: bad input writes nothing.
      const key = accountKeyOf(input)
      const userId = mode === "link" ? requiredField(input, "userId") : optionalUserId(input)
      // Returned as the caller typed it: serial-id schemas (@auth/pg-adapter) use numbers.
      const callerUserId = (input as { userId?: string | number }).userId
      if (mode === "link") requiredField(input, "type")
      const incoming = incomingTokens(input, columns, now())
      // The mark is ours to write; a token response or account object never sets it.
      if (reauthColumn) delete incoming[reauthColumn]

      return locked(key, async (account) => {
        const stored = await readView(account, true)
        if (!stored) {
          // A sync without an owner has nothing to attach the tokens to (the account is not linked yet).
          if (userId === undefined) return null
          if (mode === "sync" && !(await account.userExists(userId))) return null
          const type = requiredField(input, "type")
          await account.insert({ ...key, userId, type, tokens: await encodeTokens(incoming, codec, key) })
          return toAdapterAccount({ ...key, userId: callerUserId ?? userId, type }, incoming)
        }
        let newOwner: string | undefined
        if (userId !== undefined && String(stored.row.userId) !== userId) {
          // Re-pointing a live user's account would be an account takeover; an orphan may be adopted.
          if (await account.userExists(stored.row.userId)) throw new AccountLinkedToAnotherUserError(key.provider)
          newOwner = userId
        }
        const merged = await writeMerged(account, stored, incoming, newOwner)
        return callerUserId === undefined ? merged : { ...merged, userId: callerUserId as string }
      })
    },

    withStoredAccount(key, work, lockOptions) {
      return locked(key, async (account) => work(await readView(account), account), lockOptions)
    },

    async decodeAccount<T extends object>(account: T, mode: "strict" | "drop"): Promise<T> {
      const record = account as Record<string, unknown>
      if (!codec || typeof record.provider !== "string" || typeof record.providerAccountId !== "string") return account
      const key = { provider: record.provider, providerAccountId: record.providerAccountId }
      const values: Record<string, string | number | null> = {}
      for (const field of codec.fields) if (typeof record[field] === "string") values[field] = record[field] as string
      if (mode === "strict") return { ...account, ...(await decodeTokens(values, codec, key)) }
      const { tokens, undecryptable } = await decodeTokensLeniently(values, codec, key)
      const out: Record<string, unknown> = { ...account, ...tokens }
      for (const field of undecryptable) delete out[field]
      return out as T
    },
    writeMerged: (account, stored, tokens, source) => writeMerged(account, stored, tokens, undefined, source),
    viewOf,
    toAdapterAccount: (view) => toAdapterAccount(view.row, view.tokens),
    async writeMark(account, column, value) {
      await account.update({ tokens: { [column]: value } })
    },
  }
}
