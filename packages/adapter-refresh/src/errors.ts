/**
 * Every error this library throws is a `TokenSyncError` with a stable `code`. Messages name fields,
 * providers and reasons, never token values: Auth.js logs errors thrown from events and adapter calls.
 */
/** The stable `code` of every {@link TokenSyncError}: match on it, not on messages (which may change). */
export type TokenSyncErrorCode =
  | "INVALID_ACCOUNT_INPUT"
  | "ACCOUNT_LINKED_TO_ANOTHER_USER"
  | "AMBIGUOUS_ACCOUNT_OWNER"
  | "UNSUPPORTED_DATABASE"
  | "INVALID_OPTIONS"
  | "ACCOUNT_STORE_FAILED"
  | "ACCOUNT_SCHEMA_MISMATCH"
  | "REFRESH_INVALID_GRANT"
  | "PROVIDER_UNAVAILABLE"
  | "ACCOUNT_NOT_LINKED"
  | "AMBIGUOUS_ACCOUNT"
  | "REFRESH_NOT_CONFIGURED"
  | "REFRESH_LOCK_TIMEOUT"
  | "INVALID_ENCRYPTION_CONFIG"
  | "TOKEN_DECRYPTION_FAILED"
  | "TOKEN_CODEC_FAILED"
  | "REFRESH_NOT_PERSISTED"
  | "ACCOUNT_BUSY"
  | "INSUFFICIENT_SCOPE"
  | "REFRESH_LEASE_EXPIRED"
  | "ACCESS_TOKEN_REFUSED"
  | "REAUTH_LIST_UNAVAILABLE"

/** The base class of every error this library throws; `code` says which. */
export class TokenSyncError extends Error {
  readonly code: TokenSyncErrorCode
  constructor(code: TokenSyncErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = new.target.name
    this.code = code
  }
}

/** The account passed in is unusable; nothing was written. */
export class InvalidAccountInputError extends TokenSyncError {
  /** The offending field, e.g. "expires_at" or "providerAccountId". */
  readonly field: string
  constructor(field: string, reason: string) {
    super("INVALID_ACCOUNT_INPUT", `Invalid account input: "${field}" ${reason}. Nothing was written.`)
    this.field = field
  }
}

/**
 * The (provider, providerAccountId) is already linked to a different, existing user. Re-pointing it
 * would hand that user's provider account to someone else, so it is refused and nothing is written.
 */
export class AccountLinkedToAnotherUserError extends TokenSyncError {
  readonly provider: string
  constructor(provider: string) {
    super(
      "ACCOUNT_LINKED_TO_ANOTHER_USER",
      `This ${provider} account is already linked to another user; refusing to re-link it. Nothing was written.`,
    )
    this.provider = provider
  }
}

/**
 * The account's rows (a schema without a unique key may hold several for one key) belong to more than
 * one user, and the call names none (a `syncAccount` or `getUserByAccount` without `userId`), so whose
 * tokens these are cannot be known. Refused; nothing was written. Pass `userId` to say whose they are.
 */
export class AmbiguousAccountOwnerError extends TokenSyncError {
  readonly provider: string
  /** How many different users own rows of the key. */
  readonly owners: number
  constructor(provider: string, owners: number) {
    super(
      "AMBIGUOUS_ACCOUNT_OWNER",
      `This ${provider} account has rows owned by ${owners} different users and the call ` +
        `names no userId; refusing to guess whose tokens these are. Nothing was written.`,
    )
    this.provider = provider
    this.owners = owners
  }
}

/**
 * An option cannot work (a token column that is a key column, a re-authentication column that is a token
 * column, a timeout that is not a positive integer, ...). Raised at construction, before anything runs.
 */
export class InvalidOptionsError extends TokenSyncError {
  /** The option at fault, e.g. "tokenFields", "refresh.reauthColumn", "codec.fields", "lockTimeoutMs". */
  readonly option: string
  constructor(option: string, message: string) {
    super("INVALID_OPTIONS", message)
    this.option = option
  }
}

/** `withTokenSync` was given a `db` it cannot use. */
export class UnsupportedDatabaseError extends TokenSyncError {
  constructor(message: string) {
    super("UNSUPPORTED_DATABASE", message)
  }
}

/**
 * The store failed (connection lost, constraint, timeout). The transaction was rolled back, so
 * nothing was written. Only the driver error's class name and SQLSTATE/driver code are kept: the
 * driver error itself is not attached as `cause`, because some drivers (Prisma's validation errors,
 * for one) echo the query's arguments, tokens included, in their message.
 */
export class AccountStoreError extends TokenSyncError {
  readonly store: string
  /** The driver error's class name, e.g. "DatabaseError" or "PrismaClientKnownRequestError". */
  readonly driverErrorName: string | undefined
  /** SQLSTATE (node-postgres) or driver code (Prisma "P2002", Node "ECONNREFUSED"), when there is one. */
  readonly driverErrorCode: string | undefined
  /**
   * The PostgreSQL SQLSTATE, when there is one: node-postgres gives it as the error's `code`; Prisma
   * reports its own code ("P2010") and keeps the SQLSTATE under `meta.driverAdapterError.cause.originalCode`.
   */
  readonly sqlState: string | undefined
  /**
   * Whether the store gave up waiting for the account's lock (or lease) because another caller held it:
   * the core then answers `RefreshLockTimeoutError` (refresh) or `AccountBusyError` (sign-in). Set by the
   * store that throws this error (`options.lockTimeout`), never read from a driver's code here: the
   * built-in SQL stores ask their database module (PostgreSQL 55P03, MySQL/MariaDB 1205, SQLite
   * SQLITE_BUSY), and a custom store says it the same way, whatever it runs on.
   */
  readonly lockTimeout: boolean
  /**
   * @param store The store's name, as `AccountStore.name`.
   * @param operation What failed, for the message, e.g. "withAccountLock".
   * @param driverError The error of the client underneath, if any: only its class name and code are kept.
   * @param options `lockTimeout: true` when the failure is a wait for the account's lock that ran out (the
   *   lock is busy); a custom store throws `new AccountStoreError(name, "withAccountLock", undefined,
   *   { lockTimeout: true })` from `withAccountLock` to say so.
   */
  constructor(store: string, operation: string, driverError?: unknown, options?: { lockTimeout?: boolean }) {
    const name = driverError instanceof Error ? driverError.name : undefined
    const rawCode =
      typeof driverError === "object" && driverError !== null ? (driverError as { code?: unknown }).code : undefined
    const code = typeof rawCode === "string" || typeof rawCode === "number" ? String(rawCode) : undefined
    // Prisma's own codes ("P2010") look like SQLSTATEs, so its nested SQLSTATE is asked for first.
    const sqlState = prismaSqlState(driverError) ?? (code !== undefined && SQLSTATE.test(code) ? code : undefined)
    const detail = [name, code, sqlState === code ? undefined : sqlState].filter(Boolean).join(" ")
    super(
      "ACCOUNT_STORE_FAILED",
      `The ${store} account store failed during ${operation}${detail ? ` (${detail})` : ""}; ` +
        `the transaction was rolled back and nothing was written.`,
    )
    this.store = store
    this.driverErrorName = name
    this.driverErrorCode = code
    this.sqlState = sqlState
    this.lockTimeout = options?.lockTimeout === true
  }
}

/**
 * A write under `withAccountLock` of a store whose lock is a lease (`leaseLockedAccountStore`) was refused:
 * the lock's lease had ended, or another holder had taken it, when the store judged the write (by its own
 * clock). That write changed nothing; a write made earlier under the same lock stays (such a store has no
 * rollback). `lockTimeout` is false: the lock was held, then lost.
 */
export class AccountLockLostError extends AccountStoreError {
  /** Always true: tells this refusal apart from other store failures. */
  readonly lockLost = true
  /**
   * @param store The store's name, as `AccountStore.name`.
   * @param operation The refused write, e.g. "LockedAccount.update".
   */
  constructor(store: string, operation: string) {
    super(store, operation)
    this.message =
      `The ${store} account store refused ${operation}: the account's lock lease had ended or was taken by ` +
      `another holder, so this write changed nothing.`
  }
}

/**
 * The database lacks a table (or Prisma model) or a column the store looked for. The message names what
 * was looked for and which option sets it; the transaction was rolled back and nothing was written.
 */
export class AccountSchemaError extends TokenSyncError {
  readonly store: string
  /** The table (SQL stores) or model delegate (Prisma) the store looked for, as configured. */
  readonly table: string
  /** The missing column, when a column (not the whole table) is missing and its name is known. */
  readonly column: string | undefined
  /** Where the name comes from, e.g. `pgAccountStore(pool, { accountsTable })`. */
  readonly option: string
  /** The SQLSTATE (42P01, 42703) or Prisma code (P2021, P2022) reported. */
  readonly driverErrorCode: string | undefined
  constructor(details: {
    store: string
    table: string
    column?: string
    option: string
    driverErrorCode?: string
    hint?: string
    atConstruction?: boolean
    kind?: "table" | "model"
  }) {
    const { store, table, column, option, driverErrorCode } = details
    const what =
      column === undefined
        ? `${details.kind ?? "table"} "${table}", which does not exist`
        : `column "${column}" in "${table}", which has no such column`
    super(
      "ACCOUNT_SCHEMA_MISMATCH",
      `The ${store} account store looked for the ${what}${driverErrorCode ? ` (${driverErrorCode})` : ""}. ` +
        (column === undefined
          ? `The name is set by ${option}. `
          : `The table is set by ${option}; ` +
            `${details.hint ?? "the column is part of the adapter's documented schema"}. `) +
        (details.atConstruction
          ? "The store was not created."
          : "The transaction was rolled back and nothing was written."),
    )
    this.store = store
    this.table = table
    this.column = column
    this.option = option
    this.driverErrorCode = driverErrorCode
  }
}

/** Where token columns beyond the standard ones come from, for a missing-column message. */
export const TOKEN_COLUMN_HINT =
  "token columns besides the seven standard ones come from withTokenSync's " +
  "tokenFields and refresh.reauthColumn, and must exist in your schema"

/** Five digits or upper-case letters: only a well-formed SQLSTATE is kept, never free text from a driver. */
const SQLSTATE = /^[0-9A-Z]{5}$/

/** The SQLSTATE under a Prisma driver-adapter error (`meta.driverAdapterError.cause.originalCode`), if any. */
function prismaSqlState(driverError: unknown): string | undefined {
  if (typeof driverError !== "object" || driverError === null) return undefined
  const meta = (driverError as { meta?: unknown }).meta
  const adapterError =
    typeof meta === "object" && meta !== null
      ? (meta as { driverAdapterError?: unknown }).driverAdapterError
      : undefined
  const cause =
    typeof adapterError === "object" && adapterError !== null ? (adapterError as { cause?: unknown }).cause : undefined
  const originalCode =
    typeof cause === "object" && cause !== null ? (cause as { originalCode?: unknown }).originalCode : undefined
  return typeof originalCode === "string" && SQLSTATE.test(originalCode) ? originalCode : undefined
}

// ---------------------------------------------------------------------------------------------------
// Refresh (getAccessToken)
// ---------------------------------------------------------------------------------------------------

/**
 * Why the stored refresh token cannot be used: the provider said `invalid_grant` now ("invalid_grant"); it
 * refused the refresh with `invalid_scope` now ("invalid_scope": the user withdrew consent, e.g. Keycloak's
 * "Client no longer has requested consent from user"); it refused earlier and the account is marked/cached as
 * needing re-authentication ("marked"); the account has no refresh token at all ("missing_refresh_token"); or the
 * refresh token's stored expiry (`refresh.refreshTokenExpiryColumn`) has passed, so it was not sent ("expired").
 */
export type RefreshTokenErrorReason = "invalid_grant" | "invalid_scope" | "marked" | "missing_refresh_token" | "expired"

/**
 * The user must sign in again: the refresh token was refused (or is absent). Stored tokens were NOT
 * wiped. Surface it in the session as `error: "RefreshTokenError"`.
 *
 * @see [RFC 6749 §5.2](https://www.rfc-editor.org/rfc/rfc6749#section-5.2) (`invalid_grant`)
 */
export class RefreshTokenError extends TokenSyncError {
  readonly provider: string
  readonly reason: RefreshTokenErrorReason
  constructor(provider: string, reason: RefreshTokenErrorReason) {
    const why =
      reason === "missing_refresh_token"
        ? "no refresh token is stored for this account"
        : reason === "expired"
          ? "the refresh token's stored expiry has passed; it was not sent"
          : reason === "marked"
            ? "the provider already refused this refresh token; it was not sent again"
            : reason === "invalid_scope"
              ? "the provider refused the refresh for its scope (invalid_scope): the user withdrew consent"
              : "the provider refused the refresh token (invalid_grant)"
    super(
      "REFRESH_INVALID_GRANT",
      `Cannot refresh the ${provider} access token: ${why}. The user must sign in again; stored tokens were kept.`,
    )
    this.provider = provider
    this.reason = reason
  }
}

/**
 * Where scopes were found missing: in the stored grant, before any request to the provider ("stored"); in
 * the scope a refresh answer reported, which may be narrower than the stored one ("refresh", RFC 6749
 * §5.1); or in an API's refusal of the access token ("resource_server", RFC 6750 §3.1 `insufficient_scope`).
 */
export type InsufficientScopeSource = "stored" | "refresh" | "resource_server"

/** Scopes named in an InsufficientScopeError's message; the property holds them all. */
const SCOPES_IN_MESSAGE = 10
/** Longest scope quoted in the message, in characters. */
const SCOPE_LENGTH_IN_MESSAGE = 120

/**
 * The account's grant lacks scopes the caller asked for: start incremental authorization (sign in again
 * asking for `missingScopes`). The access token was not returned. Scopes are not secrets, so they are
 * named here; no token is.
 *
 * @see RFC 6749 §3.3 (scopes: space-delimited, case-sensitive, order-free), RFC 6750 §3.1 (`insufficient_scope`)
 */
export class InsufficientScopeError extends TokenSyncError {
  readonly provider: string
  /**
   * The scopes the grant lacks, as the caller asked for them. For `source: "resource_server"`, the scopes the
   * API said the request needs (its `scope` attribute): some of them may be granted already.
   */
  readonly missingScopes: readonly string[]
  readonly source: InsufficientScopeSource
  /** Whether a request reached the provider during this call: true only for `source: "refresh"`. */
  readonly providerCalled: boolean
  constructor(provider: string, missingScopes: readonly string[], source: InsufficientScopeSource) {
    const shown = missingScopes
      .slice(0, SCOPES_IN_MESSAGE)
      .map(
        (scope) =>
          `"${scope.length > SCOPE_LENGTH_IN_MESSAGE ? `${scope.slice(0, SCOPE_LENGTH_IN_MESSAGE)}...` : scope}"`,
      )
    const more = missingScopes.length > SCOPES_IN_MESSAGE ? ` and ${missingScopes.length - SCOPES_IN_MESSAGE} more` : ""
    const list = missingScopes.length ? `${shown.join(", ")}${more}` : "(none named)"
    const where =
      source === "resource_server"
        ? `The API refused the ${provider} access token for insufficient scope; it needs ${list}`
        : source === "refresh"
          ? `The ${provider} provider narrowed the grant on refresh; it lacks ${list}`
          : `The stored ${provider} grant lacks ${list} (the provider was not called)`
    const tail =
      source === "resource_server"
        ? "a refresh cannot add scopes: ask the user to authorize them (sign in again)."
        : "the access token was not returned: ask the user to authorize them (sign in again)."
    super("INSUFFICIENT_SCOPE", `${where}; ${tail}`)
    this.provider = provider
    this.missingScopes = Object.freeze([...missingScopes])
    this.source = source
    this.providerCalled = source === "refresh"
  }
}

/** What went wrong talking to the provider. */
export type ProviderFailureKind =
  "timeout" | "network" | "http_status" | "oauth_error" | "malformed_response" | "discovery"

/**
 * The provider could not be used right now (timeout, connection error, 5xx, an OAuth error other than
 * invalid_grant, a malformed response, failed discovery). Stored tokens are unchanged. Only the status,
 * the OAuth error code and a short detail are kept: never the response body.
 *
 * @see [RFC 6749 §5.2](https://www.rfc-editor.org/rfc/rfc6749#section-5.2) (the error codes)
 */
export class ProviderUnavailableError extends TokenSyncError {
  readonly provider: string
  readonly kind: ProviderFailureKind
  readonly status: number | undefined
  /** The OAuth `error` code of the response, e.g. "server_error" or "invalid_client". */
  readonly oauthError: string | undefined
  /** How many requests were sent to the provider (1 + retries). */
  readonly attempts: number
  constructor(
    provider: string,
    failure: { kind: ProviderFailureKind; status?: number; oauthError?: string; detail?: string },
    attempts: number,
  ) {
    const facts = [
      failure.status !== undefined ? `HTTP ${failure.status}` : undefined,
      failure.oauthError ? `error=${failure.oauthError}` : undefined,
      failure.detail,
    ].filter(Boolean)
    super(
      "PROVIDER_UNAVAILABLE",
      `Refreshing the ${provider} access token failed ` +
        `(${failure.kind}${facts.length ? `: ${facts.join(", ")}` : ""}) ` +
        `after ${attempts} attempt(s); stored tokens are unchanged.`,
    )
    this.provider = provider
    this.kind = failure.kind
    this.status = failure.status
    this.oauthError = failure.oauthError
    this.attempts = attempts
  }
}

/** The user has no account linked at this provider (or not the given providerAccountId). */
export class AccountNotLinkedError extends TokenSyncError {
  readonly provider: string
  constructor(provider: string) {
    super("ACCOUNT_NOT_LINKED", `The user has no ${provider} account linked (or not the one asked for).`)
    this.provider = provider
  }
}

/** The user has several accounts at this provider; pass `providerAccountId` to choose one. */
export class AmbiguousAccountError extends TokenSyncError {
  readonly provider: string
  readonly count: number
  constructor(provider: string, count: number) {
    super(
      "AMBIGUOUS_ACCOUNT",
      `The user has ${count} ${provider} accounts linked; pass providerAccountId to choose one.`,
    )
    this.provider = provider
    this.count = count
  }
}

/** `getAccessToken` was called for a provider that `refresh.providers` does not configure (or configures badly). */
export class RefreshNotConfiguredError extends TokenSyncError {
  readonly provider: string
  constructor(provider: string, reason: string) {
    super("REFRESH_NOT_CONFIGURED", `Refresh is not configured for provider "${provider}": ${reason}.`)
    this.provider = provider
  }
}

/** What a bounded wait was waiting for. */
export type WaitedFor = "lock" | "connection_or_lock" | "refresh_slot" | "lease" | "provider_slot"

/**
 * A refresh gave up waiting, within a bound: for the account's lock (another caller held it longer than
 * `lockTimeoutMs`), for a pooled connection plus the lock, or for one of this process's refresh slots
 * (`maxConcurrentRefreshes`). The provider was NOT called (`providerCalled` is false) and nothing was changed.
 */
export class RefreshLockTimeoutError extends TokenSyncError {
  readonly provider: string
  /** The bound that expired, in ms. */
  readonly lockTimeoutMs: number
  readonly waitedFor: WaitedFor
  /** Always false: a wait that ends after the provider answered is a RefreshPersistError instead. */
  readonly providerCalled = false
  constructor(provider: string, lockTimeoutMs: number, waitedFor: WaitedFor = "lock") {
    const what = {
      refresh_slot: "a free refresh slot of this process (maxConcurrentRefreshes)",
      connection_or_lock: `a database connection and the ${provider} account's refresh lock`,
      lock: `the ${provider} account's refresh lock`,
      lease: `another process's refresh of the ${provider} account (its lease)`,
      provider_slot: `a free ${provider} refresh slot of this process (refresh.providerConcurrency)`,
    }[waitedFor]
    super(
      "REFRESH_LOCK_TIMEOUT",
      `Waited more than ${lockTimeoutMs} ms for ${what}; the provider was not called and nothing was changed.`,
    )
    this.provider = provider
    this.lockTimeoutMs = lockTimeoutMs
    this.waitedFor = waitedFor
  }
}

/**
 * Lease mode stopped before sending a refresh request because too little of the account's lease was left to
 * cover the request and the write of its answer (`requestTimeoutMs` plus `leaseMarginMs`), or the lease
 * was lost to another process (this one stalled). Sending then could let two processes send the same
 * refresh token, which a rotating provider answers by revoking the grant. Nothing was sent in the attempt
 * that stopped; `providerCalled` says whether an earlier, retry-safe attempt reached the provider.
 */
export class RefreshLeaseExpiredError extends TokenSyncError {
  readonly provider: string
  /** What was left of the lease when the request would have been sent, in ms (0 when it was lost). */
  readonly remainingMs: number
  /** Whether an earlier attempt of this refresh was sent (it failed before grant processing). */
  readonly providerCalled: boolean
  constructor(provider: string, remainingMs: number, providerCalled: boolean) {
    super(
      "REFRESH_LEASE_EXPIRED",
      `The ${provider} account's refresh lease had ${Math.max(0, Math.floor(remainingMs))} ms left, too little ` +
        "for a refresh request and its write; no request was sent, and another process may refresh it.",
    )
    this.provider = provider
    this.remainingMs = Math.max(0, Math.floor(remainingMs))
    this.providerCalled = providerCalled
  }
}

/**
 * Why a refused access token could not be replaced now: `"interval"`, this process refreshed the account for
 * a refused token less than `refresh.refusedTokenIntervalSeconds` ago; `"reissued"`, the provider answered
 * the refresh with the very token the API refused.
 */
export type AccessTokenRefusedReason = "interval" | "reissued"

/**
 * `getAccessToken({ refusedAccessToken })` (or `fetchWithAccessToken`) could not get a token other than the one
 * the API refused, and will not ask the provider again yet: a provider that keeps issuing tokens the API
 * refuses is not hammered. Retry after `retryAfterMs`. The refused token is not returned, and appears in
 * no error or event.
 *
 * @see [RFC 6750 §3.1](https://www.rfc-editor.org/rfc/rfc6750#section-3.1) (`invalid_token`)
 */
export class AccessTokenRefusedError extends TokenSyncError {
  readonly provider: string
  readonly reason: AccessTokenRefusedReason
  /** When a refused-token refresh of this account may run again in this process, in ms from now. */
  readonly retryAfterMs: number
  /** Whether this call sent a refresh request (true only for `"reissued"`). */
  readonly providerCalled: boolean
  constructor(provider: string, reason: AccessTokenRefusedReason, retryAfterMs: number) {
    const wait = Math.max(0, Math.ceil(retryAfterMs))
    const why =
      reason === "reissued"
        ? `the ${provider} provider answered the refresh with the access token the API refused`
        : `this ${provider} account was refreshed for a refused access token less than ` +
          "refresh.refusedTokenIntervalSeconds ago"
    super(
      "ACCESS_TOKEN_REFUSED",
      `The API refused the ${provider} access token and ${why}; the refused token is not returned. ` +
        `Retry in ${wait} ms.`,
    )
    this.provider = provider
    this.reason = reason
    this.retryAfterMs = wait
    this.providerCalled = reason === "reissued"
  }
}

/**
 * What `accountsNeedingReauth` lacks: the `refresh.reauthColumn` option (without it a dead grant is known only
 * to the process that saw it, through the reauth event, and nothing is stored to list), or a store whose
 * `AccountStore` has no `listReauthMarks`.
 */
export type ReauthListMissing = "refresh.reauthColumn" | "AccountStore.listReauthMarks"

/**
 * `accountsNeedingReauth` cannot list: `missing` names what it needs. Nothing was read. Without
 * `refresh.reauthColumn`, the reauth event (`TOKEN_SYNC_CHANNELS.reauth`) is the only signal, per process.
 */
export class ReauthListUnavailableError extends TokenSyncError {
  readonly missing: ReauthListMissing
  /** The store's name (`AccountStore.name`). */
  readonly store: string
  constructor(missing: ReauthListMissing, store: string) {
    const why =
      missing === "refresh.reauthColumn"
        ? "withTokenSync was called without refresh.reauthColumn, so no mark is stored to list " +
          "(without it, only the reauth event tells, in the process that saw the refusal)"
        : `the ${store} account store has no listReauthMarks method`
    super("REAUTH_LIST_UNAVAILABLE", `Cannot list the accounts needing their user again: ${why}. Nothing was read.`)
    this.missing = missing
    this.store = store
  }
}

/**
 * The provider answered a refresh (so it may have rotated the refresh token), but the database did not
 * store the result: it refused the write, or a lock on the row was not granted within the bound. The
 * caller still got the new access token (`AccessTokenResult.persistError` carries this error); the
 * issued tokens are kept in this process's memory and written by later calls, at most
 * `maxAttempts` times in all. Only the driver error's class name and SQLSTATE are kept, never its text.
 */
export class RefreshPersistError extends TokenSyncError {
  readonly provider: string
  /** Always true: this error exists because the provider had already answered. */
  readonly providerCalled = true
  /** Write attempts so far, and the most there will be. */
  readonly attempts: number
  readonly maxAttempts: number
  /** Whether the issued tokens are still kept in memory for another write attempt. */
  readonly willRetry: boolean
  readonly driverErrorName: string | undefined
  readonly sqlState: string | undefined
  constructor(
    provider: string,
    failure: { driverErrorName?: string | undefined; sqlState?: string | undefined; lockTimeout?: boolean },
    attempts: number,
    maxAttempts: number,
  ) {
    const willRetry = attempts < maxAttempts
    const why = failure.lockTimeout
      ? "a lock on the account row was not granted in time"
      : "the database refused the write" +
        (failure.driverErrorName || failure.sqlState
          ? ` (${[failure.driverErrorName, failure.sqlState].filter(Boolean).join(" ")})`
          : "")
    super(
      "REFRESH_NOT_PERSISTED",
      `The ${provider} provider had already issued new tokens, but ${why}. The new access token was returned; ` +
        (willRetry
          ? `the issued tokens are kept in this process and will be written ` +
            `by a later call (attempt ${attempts} of ${maxAttempts}).`
          : `after ${attempts} attempts they are no longer written (this process keeps using them until they expire).`),
    )
    this.provider = provider
    this.attempts = attempts
    this.maxAttempts = maxAttempts
    this.willRetry = willRetry
    this.driverErrorName = failure.driverErrorName
    this.sqlState = failure.sqlState
  }
}

/**
 * A sign-in sync waited more than its bound for a pooled connection and the account's lock (an app
 * transaction holding the row, a pool exhausted by the app itself). Nothing was written; no provider is
 * involved on this path.
 */
export class AccountBusyError extends TokenSyncError {
  readonly provider: string
  readonly lockTimeoutMs: number
  constructor(provider: string, lockTimeoutMs: number) {
    super(
      "ACCOUNT_BUSY",
      `Waited more than ${lockTimeoutMs} ms for a database connection ` +
        `and the lock of this ${provider} account; nothing was written.`,
    )
    this.provider = provider
    this.lockTimeoutMs = lockTimeoutMs
  }
}

// ---------------------------------------------------------------------------------------------------
// Encryption at rest (tokenEncryption)
// ---------------------------------------------------------------------------------------------------

/**
 * `tokenEncryption` was given an unusable option: a key of the wrong length or not base64, a bad or
 * repeated key id, an empty key list, a bad `fields` list. Thrown at construction. The message names
 * the entry (position, id) but never key material.
 */
export class EncryptionConfigError extends TokenSyncError {
  readonly option: "keys" | "fields" | "cacheSize" | "refusePlaintext"
  /** Position of the offending entry in its list, when one is at fault. */
  readonly index: number | undefined
  /** The key's id, when it has a valid one. Key ids are not secret (every envelope stores one in clear). */
  readonly keyId: string | undefined
  constructor(
    option: "keys" | "fields" | "cacheSize" | "refusePlaintext",
    index: number | undefined,
    keyId: string | undefined,
    reason: string,
  ) {
    const which =
      index === undefined
        ? `The ${option === "keys" ? "encryption key list" : `${option} option`}`
        : option === "keys"
          ? `Encryption key #${index}${keyId !== undefined ? ` ("${keyId}")` : ""}`
          : `Entry #${index} of the fields option`
    super("INVALID_ENCRYPTION_CONFIG", `${which} ${reason}.`)
    this.option = option
    this.index = index
    this.keyId = keyId
  }
}

/**
 * Why a stored value could not be decrypted:
 * - "malformed": it starts like an envelope but is not a whole one (truncated, bad base64, bad version);
 * - "unknown_key": its key id is not in the configured keys (a key was removed too early);
 * - "authentication_failed": AES-GCM rejected it: the ciphertext was altered, the key with that id is a
 *   different key, or the value was copied from another row or column;
 * - "missing_account": the codec was called without the account it belongs to;
 * - "plaintext": it is not encrypted at all, and `tokenEncryption({ refusePlaintext: true })` refuses such
 *   values (someone wrote it to the table without the key).
 */
export type TokenDecryptionFailure =
  "malformed" | "unknown_key" | "authentication_failed" | "missing_account" | "plaintext"

/**
 * A stored token could not be decrypted. Nothing was written; the stored value is left as it is. The
 * message names the column, provider, key id and reason, never the value or the key.
 */
export class TokenDecryptionError extends TokenSyncError {
  readonly field: string
  readonly provider: string | undefined
  readonly keyId: string | undefined
  readonly reason: TokenDecryptionFailure
  constructor(field: string, provider: string | undefined, keyId: string | undefined, reason: TokenDecryptionFailure) {
    const what =
      reason === "malformed"
        ? "it is not a complete encrypted value (truncated or corrupted envelope)"
        : reason === "unknown_key"
          ? `its key "${keyId}" is not among the configured keys`
          : reason === "missing_account"
            ? "the codec was not told which account it belongs to"
            : reason === "plaintext"
              ? "it is not encrypted, and refusePlaintext refuses plaintext values (written without the key)"
              : `authentication failed with key "${keyId}" (altered, encrypted with a different key of that id, ` +
                "or copied from another row or column)"
    super(
      "TOKEN_DECRYPTION_FAILED",
      `Cannot decrypt the stored ${field}${provider !== undefined ? ` of a ${provider} account` : ""}: ` +
        `${what}. Nothing was written.`,
    )
    this.field = field
    this.provider = provider
    this.keyId = keyId
    this.reason = reason
  }
}

/**
 * The configured `codec` threw (other than a `TokenDecryptionError`) or returned something that is not a
 * string while encoding or decoding a token column. Nothing was written. Only the column, the direction
 * and the thrown error's class name are kept: a codec's own message may quote the value.
 */
export class TokenCodecError extends TokenSyncError {
  readonly field: string
  readonly direction: "encode" | "decode"
  readonly provider: string | undefined
  /** "threw TypeError", "returned undefined", ... */
  readonly reason: string
  constructor(field: string, direction: "encode" | "decode", provider: string | undefined, reason: string) {
    super(
      "TOKEN_CODEC_FAILED",
      `The token codec failed to ${direction} ` +
        `${field}${provider !== undefined ? ` of a ${provider} account` : ""}: it ${reason}. Nothing was written.`,
    )
    this.field = field
    this.direction = direction
    this.provider = provider
    this.reason = reason
  }
}
