/**
 * What every store shares, whatever its database or client: the checks on names it is given (identifiers,
 * token columns, durations, page sizes), how a row read back is split into key fields and token columns,
 * the owner an update is scoped to, and the guard that refuses a LockedAccount once its transaction is
 * over, and the boundary where a driver's lock-wait error becomes the typed value the core reads. Internal:
 * not part of the package's exports.
 */
import type {
  AccountLockOptions,
  AccountStore,
  AccountPatch,
  AccountRow,
  AccountRowScope,
  LockedAccount,
  ReauthMark,
  StoredAccountRow,
  UserId,
} from "./store.js"
import { STANDARD_TOKEN_FIELDS } from "./store.js"
import { AccountStoreError, InvalidOptionsError, TokenSyncError } from "./errors.js"

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/

/** Returns `name` after checking it is a plain identifier; anything else is refused, never interpolated. @internal */
export function checkIdentifier(name: string, what: string): string {
  if (typeof name !== "string" || !IDENTIFIER.test(name)) {
    throw new InvalidOptionsError(
      what,
      `Invalid ${what} ${JSON.stringify(name)}: expected a plain identifier matching ${IDENTIFIER}.`,
    )
  }
  return name
}

/**
 * Returns `name` after checking it can be quoted as one identifier: a non-empty string without NUL, of at
 * most 128 characters. For names taken whole from code (a Drizzle table's name or schema, where a "." is
 * part of the name), which `SqlDatabase.quote` quotes with their quote characters doubled. @internal
 */
export function checkQuotableIdentifier(name: string, what: string): string {
  if (typeof name !== "string" || name === "" || name.length > 128 || name.includes("\0")) {
    throw new InvalidOptionsError(
      what,
      `Invalid ${what} ${JSON.stringify(name)}: expected a non-empty name without NUL, of at most 128 characters.`,
    )
  }
  return name
}

/** Fields that identify and own an account row; never written or returned as tokens. */
const KEY_FIELDS = ["provider", "providerAccountId", "userId", "type"] as const
/** Fields left out of `StoredAccountRow.tokens` on read. */
const NON_TOKEN_FIELDS: ReadonlySet<string> = new Set<string>([...KEY_FIELDS, "id"])

/**
 * Returns a token field name after refusing non-identifiers and the key fields (written through their own fields).
 * @internal
 */
export function checkTokenColumn(name: string): string {
  checkIdentifier(name, "token column name")
  if (NON_TOKEN_FIELDS.has(name)) {
    throw new InvalidOptionsError(
      "token column name",
      `Invalid token column name ${JSON.stringify(name)}: "${name}" is not a token column.`,
    )
  }
  return name
}

/** A token set's defined entries; `undefined` means "not given", as with Prisma and Kysely. @internal */
export function definedEntries(tokens: Record<string, unknown> | undefined): [string, unknown][] {
  return tokens ? Object.entries(tokens).filter(([, value]) => value !== undefined) : []
}

/**
 * Splits a row, keyed by the Auth.js field names, into the key fields and everything else (the token
 * fields). @internal
 */
export function toStoredAccountRow(row: Record<string, unknown>): StoredAccountRow {
  const tokens: Record<string, unknown> = {}
  for (const [field, value] of Object.entries(row)) if (!NON_TOKEN_FIELDS.has(field)) tokens[field] = value
  return {
    provider: String(row.provider),
    providerAccountId: String(row.providerAccountId),
    // Integer ids (serial users.id) come back as numbers; the interface speaks strings.
    userId: String(row.userId),
    type: String(row.type),
    tokens,
  }
}

/** Checks a duration option (a positive integer of ms); `fallback` when it is not given. @internal */
export function checkMilliseconds(
  value: number | undefined,
  fallback: number | undefined,
  store: string,
  option: string,
): number | undefined {
  if (value === undefined) return fallback
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidOptionsError(option, `${store}: ${option} must be a positive integer number of milliseconds.`)
  }
  return value
}

/** Checks a `lockTimeoutMs` option. @internal */
export function checkLockTimeout(value: number | undefined, store: string): number | undefined {
  return checkMilliseconds(value, undefined, store, "lockTimeoutMs")
}

/** The lock timeout of one call: the call's own, else the store's default. @internal */
export function lockTimeoutFor(
  options: AccountLockOptions | undefined,
  fallback: number | undefined,
  store: string,
): number | undefined {
  return options?.lockTimeoutMs !== undefined ? checkLockTimeout(options.lockTimeoutMs, store) : fallback
}

/**
 * Returns the mark column of `listReauthMarks` after refusing non-identifiers, key fields and the standard
 * token columns (the listing reads no token). @internal
 */
export function checkMarkColumn(name: string): string {
  checkTokenColumn(name)
  if ((STANDARD_TOKEN_FIELDS as readonly string[]).includes(name)) {
    throw new InvalidOptionsError(
      "refresh.reauthColumn",
      `Invalid mark column ${JSON.stringify(name)}: a standard token column; the mark needs a column of its own.`,
    )
  }
  return name
}

/** Checks `listReauthMarks`'s page size: a positive integer, else an `InvalidOptionsError`. @internal */
export function checkMarkLimit(limit: number): number {
  if (!Number.isSafeInteger(limit) || limit <= 0)
    throw new InvalidOptionsError("limit", "listReauthMarks: limit must be a positive integer.")
  return limit
}

/**
 * Keeps each (key, owner, mark) once, in the order read: a schema without a unique key may hold the same
 * account twice. @internal
 */
export function uniqueMarks(marks: ReauthMark[]): ReauthMark[] {
  const seen = new Set<string>()
  return marks.filter((mark) => {
    const id = [mark.provider, mark.providerAccountId, mark.userId, mark.reason].join("\u001f")
    if (seen.has(id)) return false
    seen.add(id)
    return true
  })
}

/** Checks a page size. @internal */
export function checkPageLimit(limit: number): number {
  if (!Number.isSafeInteger(limit) || limit <= 0) throw new Error("scanAccounts: limit must be a positive integer.")
  return limit
}

/** Keeps the first row of each (provider, providerAccountId). @internal */
export function uniqueByKey(rows: StoredAccountRow[]): StoredAccountRow[] {
  const seen = new Set<string>()
  return rows.filter((row) => {
    const id = `${row.provider}\u001f${row.providerAccountId}`
    if (seen.has(id)) return false
    seen.add(id)
    return true
  })
}

/** The owner an update is scoped to, checked: an update without one would touch every user's rows. @internal */
export function ownerOf(scope: AccountRowScope | undefined): string {
  const userId = scope?.userId
  if (typeof userId !== "string" || userId === "") {
    throw new Error("LockedAccount.update(patch, scope): scope.userId (the owner of the rows to update) is required.")
  }
  return userId
}

/**
 * Wraps a LockedAccount so that it refuses to run once its transaction is over: a kept reference must
 * not send statements on a connection that has gone back to the pool. @internal
 */
export function scopedLockedAccount(account: LockedAccount, store: string): { account: LockedAccount; close(): void } {
  let open = true
  const guard =
    <A extends unknown[], R>(method: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> => {
      if (!open)
        return Promise.reject(
          new Error(`${store}: this LockedAccount was used after its withAccountLock callback ended.`),
        )
      return method(...args)
    }
  return {
    account: {
      readAll: guard(() => account.readAll()),
      userExists: guard((userId: UserId) => account.userExists(userId)),
      insert: guard((row: AccountRow) => account.insert(row)),
      update: guard((patch: AccountPatch, scope: AccountRowScope) => account.update(patch, scope)),
    },
    close() {
      open = false
    },
  }
}

/**
 * Keeps a store's one-statement sign-in and its locked transactions apart on a client with one
 * connection that a transaction holds to its end. Prisma's better-sqlite3 adapter runs a statement sent
 * outside a transaction inside whichever transaction is open on that connection, so a sign-in's UPDATE
 * sent during a refresh would join the refresh and be overwritten by it. A transaction counts from the
 * moment it is asked for and starts once the statements in flight have ended (each is one statement,
 * bounded by the connection's busy timeout); a statement asked for while a transaction counts is not sent,
 * and the sign-in takes the locked path. @internal
 */
export class OneConnectionGate {
  #transactions = 0
  #statements = 0
  #waiting: (() => void)[] = []

  async transaction<T>(run: () => Promise<T>): Promise<T> {
    this.#transactions++
    try {
      while (this.#statements > 0) await new Promise<void>((resolve) => this.#waiting.push(resolve))
      return await run()
    } finally {
      this.#transactions--
    }
  }

  /** `run`'s result, or `skipped` without running it while a transaction counts. */
  async statement<T>(run: () => Promise<T>, skipped: T): Promise<T> {
    if (this.#transactions > 0) return skipped
    this.#statements++
    try {
      return await run()
    } finally {
      if (--this.#statements === 0) for (const resume of this.#waiting.splice(0)) resume()
    }
  }
}

/**
 * `store`, with each error its database reads as a wait for a lock that ran out (`database.classifyError`,
 * databases/*: 55P03, 1205, SQLITE_BUSY) thrown as `AccountStoreError` with `lockTimeout` set: the typed
 * value the core reads from every store, built-in or custom. Other errors pass unchanged (the core wraps
 * them with what it was doing). Optional methods stay absent when absent. @internal
 */
export function typedLockTimeouts<S extends AccountStore>(
  store: S,
  database: { classifyError(error: unknown): { kind: string } },
): S {
  const typed =
    (operation: string) =>
    (error: unknown): never => {
      if (error instanceof TokenSyncError || database.classifyError(error).kind !== "lock-timeout") throw error
      throw new AccountStoreError(store.name, operation, error, { lockTimeout: true })
    }
  const { updateOwnTokens, updateOwnTokensIfUnchanged, updateOwnTokensAndRelease, scanAccounts, listReauthMarks } =
    store
  return {
    ...store,
    withAccountLock: (key, work, options) => store.withAccountLock(key, work, options).catch(typed("withAccountLock")),
    findAccounts: (userId, provider, options) =>
      store.findAccounts(userId, provider, options).catch(typed("findAccounts")),
    ...(updateOwnTokens && {
      updateOwnTokens: (key, userId, tokens, begin) =>
        updateOwnTokens.call(store, key, userId, tokens, begin).catch(typed("updateOwnTokens")),
    }),
    ...(updateOwnTokensIfUnchanged && {
      updateOwnTokensIfUnchanged: (key, userId, unchanged, tokens, begin) =>
        updateOwnTokensIfUnchanged
          .call(store, key, userId, unchanged, tokens, begin)
          .catch(typed("updateOwnTokensIfUnchanged")),
    }),
    ...(updateOwnTokensAndRelease && {
      updateOwnTokensAndRelease: (key, userId, unchanged, tokens, lease, begin) =>
        updateOwnTokensAndRelease
          .call(store, key, userId, unchanged, tokens, lease, begin)
          .catch(typed("updateOwnTokensAndRelease")),
    }),
    ...(scanAccounts && {
      scanAccounts: (page) => scanAccounts.call(store, page).catch(typed("scanAccounts")),
    }),
    ...(listReauthMarks && {
      listReauthMarks: (page) => listReauthMarks.call(store, page).catch(typed("listReauthMarks")),
    }),
  } satisfies AccountStore
}
