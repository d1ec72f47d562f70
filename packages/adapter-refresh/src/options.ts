/**
 * Checks `withTokenSync`'s options at construction, so that options that cannot work fail at start-up
 * with an `InvalidOptionsError` naming the option, not at the first sign-in (or, worse, by writing a
 * key column as if it were a token). Pure: reads the options, touches nothing.
 */
import { InvalidOptionsError } from "./errors.js"
import { STANDARD_TOKEN_FIELDS } from "./store.js"

/** Columns that identify and own an account row; written through their own fields, never as tokens. */
const KEY_COLUMNS: readonly string[] = ["provider", "providerAccountId", "userId", "type", "id"]
const STANDARD: readonly string[] = STANDARD_TOKEN_FIELDS
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/

/** The options `checkTokenSyncOptions` reads, loosely typed: a JavaScript caller may pass anything. */
export interface CheckedOptions {
  tokenFields?: unknown
  codec?: unknown
  now?: unknown
  refresh?: unknown
}

const refuse = (option: string, reason: string): never => {
  throw new InvalidOptionsError(option, `withTokenSync: option ${option} ${reason}.`)
}

const describe = (value: unknown): string => (typeof value === "string" ? JSON.stringify(value) : typeof value)

/** A column name another option names: a plain identifier that is not a key column. */
function checkColumn(option: string, name: unknown): string {
  if (typeof name !== "string" || !IDENTIFIER.test(name))
    refuse(option, `contains ${describe(name)}, which is not a plain column name`)
  const column = name as string
  if (KEY_COLUMNS.includes(column))
    refuse(option, `names "${column}", a key column of the account row, not a token column`)
  return column
}

/** Lease mode's options: the mode's name and the per-provider limits (whether the store has leases: the engine). */
function checkCoordination(refresh: Record<string, unknown>): void {
  const { coordination, providerConcurrency } = refresh
  if (coordination !== undefined && coordination !== "lock" && coordination !== "lease")
    refuse("refresh.coordination", `is ${describe(coordination)}; it must be "lock" or "lease"`)
  if (providerConcurrency === undefined) return
  if (typeof providerConcurrency !== "object" || providerConcurrency === null || Array.isArray(providerConcurrency))
    refuse("refresh.providerConcurrency", "must be an object of provider ids to limits")
  for (const [provider, limit] of Object.entries(providerConcurrency as object)) {
    if (typeof limit !== "number" || !Number.isSafeInteger(limit) || limit <= 0)
      refuse(`refresh.providerConcurrency`, `gives ${JSON.stringify(provider)} a limit that is not a positive integer`)
  }
}

export function checkTokenSyncOptions(options: unknown): void {
  if (options === undefined) return
  if (typeof options !== "object" || options === null || Array.isArray(options))
    refuse("(options)", "must be an object")
  const { tokenFields, codec, now, refresh } = options as CheckedOptions

  const extras: string[] = []
  if (tokenFields !== undefined) {
    if (!Array.isArray(tokenFields)) refuse("tokenFields", "must be an array of column names")
    for (const field of tokenFields as unknown[]) {
      const column = checkColumn("tokenFields", field)
      if (STANDARD.includes(column))
        refuse("tokenFields", `names "${column}", one of the seven standard token columns, which are always written`)
      if (extras.includes(column)) refuse("tokenFields", `names "${column}" twice`)
      extras.push(column)
    }
  }

  if (now !== undefined && typeof now !== "function") refuse("now", "must be a function returning epoch milliseconds")
  const { lockTimeoutMs } = options as { lockTimeoutMs?: unknown }
  if (
    lockTimeoutMs !== undefined &&
    (typeof lockTimeoutMs !== "number" || !Number.isSafeInteger(lockTimeoutMs) || lockTimeoutMs <= 0)
  ) {
    refuse("lockTimeoutMs", "must be a positive integer (milliseconds)")
  }

  let reauthColumn: string | undefined
  let expiryColumn: string | undefined
  if (refresh !== undefined) {
    if (typeof refresh !== "object" || refresh === null) refuse("refresh", "must be an object")
    const {
      reauthColumn: mark,
      refreshTokenExpiryColumn: expiry,
      providers,
    } = refresh as { reauthColumn?: unknown; refreshTokenExpiryColumn?: unknown; providers?: unknown }
    if (!Array.isArray(providers))
      refuse("refresh.providers", "must be an array of the provider objects given to Auth.js")
    if (mark !== undefined) {
      reauthColumn = checkColumn("refresh.reauthColumn", mark)
      if (STANDARD.includes(reauthColumn))
        refuse(
          "refresh.reauthColumn",
          `names "${reauthColumn}", a standard token column; the mark needs a column of its own`,
        )
      if (extras.includes(reauthColumn))
        refuse(
          "refresh.reauthColumn",
          `names "${reauthColumn}", which tokenFields also names; the mark needs a column of its own`,
        )
    }
    if (expiry !== undefined) {
      const option = "refresh.refreshTokenExpiryColumn"
      expiryColumn = checkColumn(option, expiry)
      if (STANDARD.includes(expiryColumn))
        refuse(option, `names "${expiryColumn}", a standard token column; the expiry needs a column of its own`)
      if (extras.includes(expiryColumn))
        refuse(option, `names "${expiryColumn}", which tokenFields also names; the expiry needs a column of its own`)
      if (expiryColumn === reauthColumn)
        refuse(
          option,
          `names "${expiryColumn}", the re-authentication mark column; the expiry needs a column of its own`,
        )
    }
    for (const name of [
      "skewSeconds",
      "minRefreshIntervalSeconds",
      "lockTimeoutMs",
      "requestTimeoutMs",
      "maxConcurrentRefreshes",
      "queueTimeoutMs",
      "retries",
      "backoffMs",
      "leaseMarginMs",
      "lateAnswerMs",
      "maxConcurrentStatements",
      "refusedTokenIntervalSeconds",
    ] as const) {
      const value = (refresh as Record<string, unknown>)[name]
      if (value !== undefined && (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0)) {
        refuse(`refresh.${name}`, "must be a non-negative integer")
      }
    }
    checkCoordination(refresh as Record<string, unknown>)
  }

  if (codec !== undefined) {
    if (typeof codec !== "object" || codec === null) refuse("codec", "must be an object with fields, encode and decode")
    const { fields, encode, decode } = codec as { fields?: unknown; encode?: unknown; decode?: unknown }
    if (typeof encode !== "function" || typeof decode !== "function")
      refuse("codec", "must have encode and decode functions")
    if (!Array.isArray(fields)) refuse("codec.fields", "must be an array of token column names")
    for (const field of fields as unknown[]) {
      const column = checkColumn("codec.fields", field)
      if (column === "expires_at")
        refuse("codec.fields", `names "expires_at", a number column that cannot hold an encoded value`)
      if (column === reauthColumn)
        refuse("codec.fields", `names "${column}", the re-authentication mark column, which is written as is`)
      if (column === expiryColumn)
        refuse("codec.fields", `names "${column}", the refresh-token expiry column, a number that cannot be encoded`)
      if (!STANDARD.includes(column) && !extras.includes(column)) {
        refuse("codec.fields", `names "${column}", which is not a token column (the standard ones or tokenFields)`)
      }
    }
  }
}
