import type { AdapterAccount } from "./authjs-types.js"
import { decodeTokens, decodeTokensLeniently, encodeTokens, type TokenCodec } from "./codec.js"
import { AccountBusyError, AccountStoreError } from "./errors.js"
import { requiredField, tokenColumns, type TokenSet } from "./policy/merge.js"
import {
  lenientViewOf as lenientViewOfRow,
  toAdapterAccount,
  viewOf as viewOfRow,
  type RowReading,
} from "./account-rows.js"
import { boundedStart } from "./bounded-wait.js"
import { underAccountLock, type WriteCounts } from "./account-lock.js"
import { ownershipOf, refusalError } from "./account-ownership.js"
import { linkResultOf } from "./link-result.js"
import { writeMerged, type MergedWriteSettings } from "./merged-write.js"
import { signInInOneStatement, type OneStatementSettings } from "./one-statement-sign-in.js"
import { signInInputOf, type SignInInputSettings } from "./sign-in-input.js"
import { observeSync } from "./sync-events.js"
import type { TokenWriteSource } from "./policy/reauth.js"
import type { AccountKey, AccountLockOptions, AccountStore, LockedAccount, StoredAccountRow, UserId } from "./store.js"

/**
 * The single write path for account tokens: validate, lock the account's key, read, merge, write,
 * commit. `linkAccount`, `syncAccount`, `getUserByAccount` and `events.signIn` all end here. Its parts: the
 * input (sign-in-input.ts), the one-statement sign-in (one-statement-sign-in.ts), whose rows a write touches
 * (account-ownership.ts), the merged write (merged-write.ts), a link's result (link-result.ts), the rows as
 * read (account-rows.ts), the lock (account-lock.ts) and the published events (sync-events.ts).
 */

export interface AccountSyncOptions {
  /** Extra token columns to write besides the seven standard ones (they must exist in your schema). */
  tokenFields?: readonly string[]
  /** Encryption-at-rest seam; see `TokenCodec`. */
  codec?: TokenCodec
  /**
   * Longest a sign-in sync waits for the account's lock or a row lock (an app transaction holding either),
   * in ms, via `lock_timeout`; a pooled connection plus the lock is bounded at twice this (a pool the app
   * has exhausted). Then `AccountBusyError`, nothing written. Default 10 000.
   */
  lockTimeoutMs?: number
  /** Clock in epoch milliseconds, for `expires_in`. Defaults to `Date.now`. */
  now?: () => number
  /**
   * Column holding the "needs re-authentication" mark (see policy/reauth.ts). It is read with the
   * tokens, never taken from incoming tokens, and cleared by the writes `reauthMarkChange` says.
   */
  reauthColumn?: string
  /**
   * Column holding the refresh token's own expiry (epoch seconds; see policy/refresh-token-expiry.ts). Never
   * taken from incoming values as given: computed from the answer's `refresh_token_expires_in` /
   * `refresh_expires_in`, and written only next to the refresh token it describes.
   */
  refreshTokenExpiryColumn?: string
}

/**
 * What a caller may hand to `syncAccount`: the keys plus any tokens (a raw Auth.js `account`, a token
 * response), `userId` optional. Values are validated at run time, so the fields are loosely typed.
 */
export interface SyncableAccount extends AccountKey {
  userId?: UserId
  type?: string
  [field: string]: unknown
}

export interface AccountSync {
  readonly columns: readonly string[]
  /**
   * Resolves to undefined only for a "link" insert into a store whose `linkAccountResult` is "nothing", or,
   * with `wanted` false (the caller drops the result), for a sync a store wrote without returning the row.
   */
  upsert(account: unknown, mode: "link" | "sync", wanted?: boolean): Promise<AdapterAccount | null | undefined>
  /**
   * Runs `work` under the account's lock with a decoded view of the stored row of `owner` (null when
   * `owner` has no row of that key). Without `owner`: the row of the key's only owner, or of its only
   * live owner; `AmbiguousAccountOwnerError` when the rows belong to several users.
   */
  withStoredAccount<T>(
    key: AccountKey,
    work: (stored: StoredView | null, locked: LockedAccount) => Promise<T>,
    lockOptions?: AccountLockOptions,
    owner?: string,
  ): Promise<T>
  /**
   * Merges and writes `tokens` inside a `withStoredAccount` callback, to the rows of the view's owner
   * only; returns the stored account.
   */
  writeMerged(
    locked: LockedAccount,
    stored: StoredView,
    tokens: TokenSet,
    source?: TokenWriteSource,
  ): Promise<AdapterAccount>
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
  /**
   * Writes one column as is, bypassing the merge policy, to the rows of the view's owner: only for the
   * re-authentication mark.
   */
  writeMark(locked: LockedAccount, stored: StoredView, column: string, value: string | null): Promise<void>
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

// Where the refresh answers' writes (refresh/outcomes.ts) and the tests find it.
export { setRefreshTokenExpiry } from "./sign-in-input.js"

export function createAccountSync(store: AccountStore, options: AccountSyncOptions = {}): AccountSync {
  const reauthColumn = options.reauthColumn
  const expiryColumn = options.refreshTokenExpiryColumn
  const columns = tokenColumns([
    ...(options.tokenFields ?? []),
    ...(reauthColumn ? [reauthColumn] : []),
    ...(expiryColumn ? [expiryColumn] : []),
  ])
  const now = options.now ?? Date.now
  const codec = options.codec
  const lockTimeoutMs = options.lockTimeoutMs ?? 10_000

  // How rows are read (account-rows.ts), input is checked, tokens are merged and one statement signs in.
  const reading: RowReading = { columns, codec }
  const viewOf = viewOfRow.bind(undefined, reading)
  const lenientViewOf = lenientViewOfRow.bind(undefined, reading)
  const inputSettings: SignInInputSettings = { columns, reauthColumn, expiryColumn, now }
  const mergeSettings: MergedWriteSettings = { reauthColumn, expiryColumn, codec }
  const oneStatement: OneStatementSettings = { store, columns, codec, reauthColumn, expiryColumn, lockTimeoutMs }

  /** One sign-in write or link: validate, the one statement when it applies, else lock, decide whose rows, write. */
  async function upsertOnce(
    input: unknown,
    mode: "link" | "sync",
    counts: WriteCounts,
    wanted: boolean,
  ): Promise<AdapterAccount | null | undefined> {
    // Validate everything before touching the database: bad input writes nothing.
    const { key, userId, callerUserId, incoming } = signInInputOf(input, mode, inputSettings)
    if (mode === "sync" && callerUserId !== undefined) {
      const written = await signInInOneStatement(oneStatement, key, callerUserId, incoming, wanted)
      if (written !== undefined) {
        counts.updates++
        if (written === "written") return undefined
        return written && { ...written, userId: callerUserId as string }
      }
    }
    const busy = () => new AccountBusyError(key.provider, lockTimeoutMs)
    // Bounded like every wait: connection + lock, then AccountBusyError (see bounded-wait.ts).
    // lock_timeout bounds the lock; a pooled connection may take as long again before it.
    return boundedStart(2 * lockTimeoutMs, busy, (begin, abandoned) =>
      underAccountLock(
        store,
        key,
        async (account) => {
          begin()
          const { rows, decision } = await ownershipOf(account, userId, mode, callerUserId)
          switch (decision.action) {
            // A sync without an (existing) owner has nothing to attach the tokens to.
            case "skip":
              return null
            case "refuse":
              throw refusalError(decision, key)
            case "insert": {
              const type = requiredField(input, "type")
              const owner = callerUserId ?? decision.owner
              const tokens = await encodeTokens(incoming, codec, key)
              const inserted = await account.insert({ ...key, userId: owner, type, tokens })
              const stored = toAdapterAccount({ ...key, userId: owner, type }, incoming)
              if (mode === "sync") return stored
              return linkResultOf(store.linkAccountResult, input, inserted, incoming, codec, stored)
            }
            case "write": {
              // Merge over the owner's own row; when every row is adopted, over an adopted one.
              const base =
                rows.find((row) => row.userId === decision.owner) ??
                rows.find((row) => decision.adopt.includes(row.userId))!
              const stored = await lenientViewOf(base)
              const ownerAsTyped =
                callerUserId !== undefined && decision.owner === userId ? callerUserId : decision.owner
              const scope = { owner: decision.owner, adopt: decision.adopt, ownerAsTyped }
              const merged = await writeMerged(mergeSettings, account, stored, incoming, "sign-in", scope)
              return callerUserId === undefined ? merged : { ...merged, userId: callerUserId as string }
            }
          }
        },
        { lockTimeoutMs, signal: abandoned },
        "sync",
        counts,
      ).catch((error: unknown) => {
        // lock_not_available: our lock_timeout passed (a lock held by the app or another writer).
        throw error instanceof AccountStoreError && error.lockTimeout ? busy() : error
      }),
    )
  }

  return {
    columns,
    upsert: (input, mode, wanted = true) =>
      observeSync(store.name, input, mode, (counts) => upsertOnce(input, mode, counts, wanted)),
    withStoredAccount(key, work, lockOptions, owner) {
      return underAccountLock(
        store,
        key,
        async (account) => {
          let row: StoredAccountRow | undefined
          if (owner !== undefined) {
            row = (await account.readAll()).find((candidate) => candidate.userId === owner)
          } else {
            const { rows, decision } = await ownershipOf(account, undefined, "sync")
            if (decision.action === "refuse") throw refusalError(decision, key)
            if (decision.action === "write") row = rows.find((candidate) => candidate.userId === decision.owner)
          }
          return work(row ? await viewOf(row) : null, account)
        },
        lockOptions,
        "refresh",
      )
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
    writeMerged: (account, stored, tokens, source) => writeMerged(mergeSettings, account, stored, tokens, source),
    viewOf,
    toAdapterAccount: (view) => toAdapterAccount(view.row, view.tokens),
    async writeMark(account, stored, column, value) {
      await account.update({ tokens: { [column]: value } }, { userId: stored.row.userId })
    },
  }
}
