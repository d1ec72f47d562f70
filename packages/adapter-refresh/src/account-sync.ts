import type { AdapterAccount } from "./authjs-types.js"
import { decodeTokens, decodeTokensLeniently, encodeTokens, staleFields, type TokenCodec } from "./codec.js"
import {
  AccountBusyError,
  AccountLinkedToAnotherUserError,
  AccountStoreError,
  AmbiguousAccountOwnerError,
  TokenSyncError,
} from "./errors.js"
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
import { decideOwnership, ownersToCheck, type OwnershipDecision, type OwnershipMode } from "./policy/ownership.js"
import { boundedStart } from "./bounded-wait.js"
import {
  keyOfRow,
  lenientViewOf as lenientViewOfRow,
  toAdapterAccount,
  viewOf as viewOfRow,
  type RowReading,
} from "./account-rows.js"
import { underAccountLock, type WriteCounts } from "./account-lock.js"
import { elapsedMs, errorCodeOf, errorNameOf, providerOf, publish } from "./observability.js"
import { reauthMarkChange, type TokenWriteSource } from "./policy/reauth.js"
import {
  readRefreshTokenExpiry,
  refreshTokenExpiryChange,
  refreshTokenExpiryValue,
} from "./policy/refresh-token-expiry.js"
import type { AccountKey, AccountLockOptions, AccountStore, LockedAccount, StoredAccountRow, UserId } from "./store.js"

/**
 * The single write path for account tokens: validate, lock the account's key, read, merge, write,
 * commit. `linkAccount`, `syncAccount`, `getUserByAccount` and `events.signIn` all end here.
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

/**
 * Puts the refresh token's expiry, read from `answer` (a sign-in's raw account or a refresh answer received at
 * `nowMs`), into `tokens` under `column`, only next to the refresh token it describes; any value of that name
 * the answer carried itself is dropped. Unknown leaves the column out (see `refreshTokenExpiryChange`).
 */
export function setRefreshTokenExpiry(tokens: TokenSet, answer: unknown, column: string, nowMs: number): void {
  delete tokens[column]
  if (typeof tokens.refresh_token !== "string" || tokens.refresh_token === "") return
  const value = refreshTokenExpiryValue(readRefreshTokenExpiry(answer, nowMs))
  if (value !== undefined) tokens[column] = value
}

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
  const syncLockTimeoutMs = options.lockTimeoutMs ?? 10_000

  // How rows are read (account-rows.ts): the sync's columns and codec.
  const reading: RowReading = { columns, codec }
  const viewOf = viewOfRow.bind(undefined, reading)
  const lenientViewOf = lenientViewOfRow.bind(undefined, reading)

  /** Reads every row of the key and decides, by the ownership policy, whose rows this call may write. */
  async function decide(
    account: LockedAccount,
    caller: string | undefined,
    mode: OwnershipMode,
    callerAsTyped?: UserId,
  ): Promise<{ rows: StoredAccountRow[]; decision: OwnershipDecision }> {
    const rows = await account.readAll()
    const owners = rows.map((row) => row.userId)
    const exists = new Map<string, boolean>()
    for (const userId of ownersToCheck(owners, caller, mode)) {
      // The caller's id goes to the store as typed (a Prisma `Int` id must be a number).
      exists.set(
        userId,
        await account.userExists(userId === caller && callerAsTyped !== undefined ? callerAsTyped : userId),
      )
    }
    return { rows, decision: decideOwnership({ owners, caller, mode, exists }) }
  }

  function refusal(decision: Extract<OwnershipDecision, { action: "refuse" }>, key: AccountKey): TokenSyncError {
    return decision.reason === "ambiguous-owner"
      ? new AmbiguousAccountOwnerError(key.provider, decision.owners)
      : new AccountLinkedToAnotherUserError(key.provider)
  }

  /**
   * Merges `incoming` over `stored` and writes the changes to the rows of `owner` (when it has any) and,
   * re-pointed to `owner`, to the rows of each orphaned owner in `adopt`. No other row is touched.
   */
  async function writeMerged(
    account: LockedAccount,
    stored: StoredView,
    incoming: TokenSet,
    source: TokenWriteSource = "sign-in",
    owner: string = stored.row.userId,
    adopt: readonly string[] = [],
    ownerAsTyped: UserId = owner,
  ): Promise<AdapterAccount> {
    const merge = mergeTokens(stored.tokens, incoming)
    // The one explicit exception to "never write null": clearing the re-authentication mark.
    const clear = {
      ...(reauthColumn ? reauthMarkChange(stored.tokens, incoming, reauthColumn, source) : {}),
      // The other: a new refresh token without an expiry makes the stored expiry unknown.
      ...(expiryColumn ? refreshTokenExpiryChange(stored.tokens, incoming, expiryColumn) : {}),
    }
    const merged = { ...merge.merged, ...clear }
    const changes: TokenSet = { ...merge.changes, ...clear }
    // Lazy migration: values in clear (from before encryption) or under an older key are rewritten with
    // the current key whenever the row is written anyway. An undecryptable value reads as null: skipped.
    if (Object.keys(changes).length > 0) {
      for (const field of staleFields(stored.row.tokens, codec))
        if (!(field in changes) && merged[field] != null) changes[field] = merged[field]
    }
    const tokens = Object.keys(changes).length > 0 ? await encodeTokens(changes, codec, keyOfRow(stored.row)) : {}
    if (Object.keys(tokens).length > 0 && stored.row.userId === owner)
      await account.update({ tokens }, { userId: owner })
    for (const orphan of adopt) await account.update({ userId: ownerAsTyped, tokens }, { userId: orphan })
    return toAdapterAccount({ ...stored.row, userId: owner }, merged)
  }

  const accountBusy = (key: AccountKey) => new AccountBusyError(key.provider, syncLockTimeoutMs)

  /**
   * The common sign-in in one statement (`AccountStore.updateOwnTokens`): the caller's own row exists and
   * no one else's does. Resolves to the stored account when it wrote ("written" when the store returned
   * only a count and the caller does not want the account; with `wanted`, the row is read back, one more
   * statement); undefined when it did not apply, for the locked path to decide: no such store method,
   * nothing to write, a key held by another writer, no row of the caller's, rows of someone else's, or a
   * re-authentication mark to weigh against the stored refresh token (which only the locked path reads).
   * Not with a codec: the locked path decodes the stored row before it writes, so a codec that fails leaves
   * the row unwritten, and it migrates stale values.
   */
  async function writeOwnInOneStatement(
    key: AccountKey,
    owner: UserId,
    incoming: TokenSet,
    wanted: boolean,
  ): Promise<AdapterAccount | null | "written" | undefined> {
    if (!store.updateOwnTokens || codec || Object.keys(incoming).length === 0) return undefined
    if (reauthColumn && incoming.refresh_token !== undefined) return undefined
    // A refresh token without an expiry may have to clear the stored one: only the locked path reads it.
    if (expiryColumn && incoming.refresh_token !== undefined && incoming[expiryColumn] === undefined) return undefined
    const asked = performance.now()
    const update = store.updateOwnTokens.bind(store)
    // Bounded like the locked path: a pooled connection within 2 x lockTimeoutMs, or AccountBusyError and
    // nothing sent. In the database it waits for nothing (see AccountStore.updateOwnTokens).
    const written = await boundedStart(
      2 * syncLockTimeoutMs,
      () => accountBusy(key),
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

  /** One sign-in write or link: validate, lock, decide whose rows, insert or merge. */
  async function upsertOnce(
    input: unknown,
    mode: "link" | "sync",
    counts: WriteCounts,
    wanted: boolean,
  ): Promise<AdapterAccount | null | undefined> {
    // Validate everything before touching the database: bad input writes nothing.
    const key = accountKeyOf(input)
    const userId = mode === "link" ? requiredField(input, "userId") : optionalUserId(input)
    // The id as the caller typed it goes to the store and back to the caller: serial-id schemas
    // (@auth/pg-adapter) use numbers, Prisma `Int` / `BigInt` ids numbers / bigints.
    const callerUserId = userId === undefined ? undefined : (input as { userId: UserId }).userId
    if (mode === "link") requiredField(input, "type")
    // The expiry column is ours: never read from the input as given (see setRefreshTokenExpiry).
    const incoming = incomingTokens(input, expiryColumn ? columns.filter((c) => c !== expiryColumn) : columns, now())
    // The mark is ours to write; a token response or account object never sets it.
    if (reauthColumn) delete incoming[reauthColumn]
    if (expiryColumn) setRefreshTokenExpiry(incoming, input, expiryColumn, now())

    const busy = () => accountBusy(key)
    if (mode === "sync" && callerUserId !== undefined) {
      const written = await writeOwnInOneStatement(key, callerUserId, incoming, wanted)
      if (written !== undefined) {
        counts.updates++
        if (written === "written") return undefined
        return written && { ...written, userId: callerUserId as string }
      }
    }
    // Bounded like every wait: connection + lock, then AccountBusyError (see bounded-wait.ts).
    // lock_timeout bounds the lock; a pooled connection may take as long again before it.
    return boundedStart(2 * syncLockTimeoutMs, busy, (begin, abandoned) =>
      underAccountLock(
        store,
        key,
        async (account) => {
          begin()
          const { rows, decision } = await decide(account, userId, mode, callerUserId)
          switch (decision.action) {
            // A sync without an (existing) owner has nothing to attach the tokens to.
            case "skip":
              return null
            case "refuse":
              throw refusal(decision, key)
            case "insert": {
              const type = requiredField(input, "type")
              const inserted = await account.insert({
                ...key,
                userId: callerUserId ?? decision.owner,
                type,
                tokens: await encodeTokens(incoming, codec, key),
              })
              // A drop-in returns what the wrapped adapter's own linkAccount returns (AccountStore.linkAccountResult).
              // "input": fields the insert resolved to (never token values) go onto it, as TypeORM's save does.
              if (mode === "link" && store.linkAccountResult === "input")
                return (inserted ? Object.assign(input as object, inserted) : input) as AdapterAccount
              if (mode === "link" && store.linkAccountResult === "nothing") return undefined
              if (mode === "link" && store.linkAccountResult === "inserted-row" && inserted) {
                // The row holds the codec's ciphertext; the caller gets back the plaintext it gave.
                const plaintext: Record<string, unknown> = { ...inserted }
                for (const field of codec?.fields ?? [])
                  if (field in plaintext) plaintext[field] = incoming[field] ?? null
                return plaintext as unknown as AdapterAccount
              }
              return toAdapterAccount({ ...key, userId: callerUserId ?? decision.owner, type }, incoming)
            }
            case "write": {
              // Merge over the owner's own row; when every row is adopted, over an adopted one.
              const base =
                rows.find((row) => row.userId === decision.owner) ??
                rows.find((row) => decision.adopt.includes(row.userId))!
              const stored = await lenientViewOf(base)
              const ownerAsTyped =
                callerUserId !== undefined && decision.owner === userId ? callerUserId : decision.owner
              const merged = await writeMerged(
                account,
                stored,
                incoming,
                "sign-in",
                decision.owner,
                decision.adopt,
                ownerAsTyped,
              )
              return callerUserId === undefined ? merged : { ...merged, userId: callerUserId as string }
            }
          }
        },
        { lockTimeoutMs: syncLockTimeoutMs, signal: abandoned },
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

    async upsert(input, mode, wanted = true) {
      const started = performance.now()
      const counts: WriteCounts = { inserts: 0, updates: 0 }
      const provider = providerOf(input)
      try {
        const result = await upsertOnce(input, mode, counts, wanted)
        const outcome =
          result === null ? "skipped" : counts.inserts > 0 ? "inserted" : counts.updates > 0 ? "updated" : "unchanged"
        publish("sync", () => ({ store: store.name, provider, mode, outcome, durationMs: elapsedMs(started) }))
        return result
      } catch (error) {
        publish("sync", () => ({
          store: store.name,
          provider,
          mode,
          outcome: "failed",
          durationMs: elapsedMs(started),
          errorCode: errorCodeOf(error),
        }))
        publish("failure", () => ({
          operation: mode,
          store: store.name,
          provider,
          errorCode: errorCodeOf(error),
          errorName: errorNameOf(error),
        }))
        throw error
      }
    },

    withStoredAccount(key, work, lockOptions, owner) {
      return underAccountLock(
        store,
        key,
        async (account) => {
          let row: StoredAccountRow | undefined
          if (owner !== undefined) {
            row = (await account.readAll()).find((candidate) => candidate.userId === owner)
          } else {
            const { rows, decision } = await decide(account, undefined, "sync")
            if (decision.action === "refuse") throw refusal(decision, key)
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
    writeMerged: (account, stored, tokens, source) => writeMerged(account, stored, tokens, source),
    viewOf,
    toAdapterAccount: (view) => toAdapterAccount(view.row, view.tokens),
    async writeMark(account, stored, column, value) {
      await account.update({ tokens: { [column]: value } }, { userId: stored.row.userId })
    },
  }
}
