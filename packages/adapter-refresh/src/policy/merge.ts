import { InvalidAccountInputError } from "../errors.js"
import { STANDARD_TOKEN_FIELDS, type AccountKey, type TokenColumnValue } from "../store.js"
import { resolveExpiresAt, storedExpiresAt } from "./expiry.js"

/**
 * Pure merge policy: which fields of an incoming account/token response get written, and how they
 * combine with what is stored. The rule that matters: nothing is ever lost. An incoming value that is
 * undefined, null or "" leaves the stored one alone (Google sends no refresh_token on later sign-ins,
 * RFC 6749 §5.1 makes it optional); a non-empty one replaces it (RFC 6749 §6: a new refresh token
 * supersedes the old). Extras of the raw response (`expires_in`, `refresh_expires_in`,
 * `not-before-policy`, ...) are never written unless configured as columns.
 */

export type TokenSet = Record<string, TokenColumnValue>

/** The columns written, in order: the seven standard ones, then the configured extras. */
export function tokenColumns(extraFields: readonly string[] = []): string[] {
  const columns: string[] = [...STANDARD_TOKEN_FIELDS]
  for (const field of extraFields) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(field)) {
      throw new InvalidAccountInputError("tokenFields", `contains "${field}", which is not a plain column name`)
    }
    if (!columns.includes(field)) columns.push(field)
  }
  return columns
}

function isAbsent(value: unknown): boolean {
  return value === undefined || value === null || value === ""
}

/**
 * Why a string cannot be stored as given in a PostgreSQL text column, or undefined when it can. NUL is
 * refused by PostgreSQL ("invalid byte sequence", SQLSTATE 22021); a lone UTF-16 surrogate is silently
 * replaced by U+FFFD when the driver encodes UTF-8, so the stored value would differ from the given one.
 * Both are refused before any I/O rather than failing (or corrupting) in the database.
 */
export function unstorableStringReason(value: string): string | undefined {
  if (value.includes("\u0000")) return "contains a NUL character, which PostgreSQL text cannot store"
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(value)) {
    return "contains a lone UTF-16 surrogate, which cannot be stored as UTF-8 unchanged"
  }
  return undefined
}

function storableString(field: string, value: string): string {
  const reason = unstorableStringReason(value)
  if (reason) throw new InvalidAccountInputError(field, reason)
  return value
}

/**
 * A required string field. Any string is a value of a text column, the empty one included (the bare
 * adapters store it), so only a missing, non-string or unstorable value is refused.
 */
function requireString(input: Record<string, unknown>, field: string): string {
  const value = input[field]
  if (value === undefined || value === null) throw new InvalidAccountInputError(field, "is missing")
  if (typeof value !== "string") throw new InvalidAccountInputError(field, "must be a string")
  return storableString(field, value)
}

/**
 * Validates and returns the account's key. A numeric `providerAccountId` (providers with integer
 * account ids) is taken as its decimal string: @auth/pg-adapter and @auth/kysely-adapter accept one and
 * PostgreSQL stores exactly that text in the column, so look-ups by the string find the row.
 */
export function accountKeyOf(input: unknown): AccountKey {
  if (typeof input !== "object" || input === null) throw new InvalidAccountInputError("account", "must be an object")
  const record = input as Record<string, unknown>
  const id = record.providerAccountId
  const providerAccountId =
    (typeof id === "number" && Number.isFinite(id)) || typeof id === "bigint"
      ? String(id)
      : requireString(record, "providerAccountId")
  return { provider: requireString(record, "provider"), providerAccountId }
}

/**
 * Validates a required field of the account (`userId`, `type`), returned as a string for comparison.
 * A user id may be an integer: serial ids (@auth/pg-adapter) reach Auth.js as numbers, Prisma `BigInt`
 * ids as bigints. The id itself goes to the store as the caller typed it (see `AccountRow.userId`).
 */
export function requiredField(input: unknown, field: "userId" | "type"): string {
  const record = input as Record<string, unknown>
  const value = record[field]
  if (field === "userId") {
    if ((typeof value === "number" && Number.isSafeInteger(value)) || typeof value === "bigint") return String(value)
    // An empty id names no user: every schema's foreign key or integer type would refuse it anyway.
    if (value === "") throw new InvalidAccountInputError(field, "must not be empty")
  }
  return requireString(record, field)
}

/** The optional `userId` of an account: undefined when absent, an error when present but malformed. */
export function optionalUserId(input: unknown): string | undefined {
  const value = (input as Record<string, unknown>).userId
  if (isAbsent(value)) return undefined
  return requiredField(input, "userId")
}

/**
 * The token values an incoming account or token response carries, validated, with every absent value
 * left out (so the result can be spread over the stored set without erasing anything).
 * `expires_at` is always returned in integer epoch seconds.
 */
export function incomingTokens(input: unknown, columns: readonly string[], nowMs: number): TokenSet {
  if (typeof input !== "object" || input === null) throw new InvalidAccountInputError("account", "must be an object")
  const record = input as Record<string, unknown>
  const tokens: TokenSet = {}
  for (const column of columns) {
    if (column === "expires_at") {
      const expiresAt = resolveExpiresAt(record, nowMs)
      if (expiresAt !== undefined) tokens.expires_at = expiresAt
      continue
    }
    const value = record[column]
    if (isAbsent(value)) continue
    const isStandard = (STANDARD_TOKEN_FIELDS as readonly string[]).includes(column)
    if (typeof value === "string") tokens[column] = storableString(column, value)
    else if (!isStandard && typeof value === "number" && Number.isFinite(value)) tokens[column] = value
    else
      throw new InvalidAccountInputError(
        column,
        isStandard ? "must be a string" : "must be a string or a finite number",
      )
  }
  return tokens
}

/** A stored row's token columns in canonical form: every column present, null when empty. */
export function storedTokens(stored: Record<string, unknown>, columns: readonly string[]): TokenSet {
  const tokens: TokenSet = {}
  for (const column of columns) {
    const value = stored[column]
    if (column === "expires_at") tokens.expires_at = storedExpiresAt(value)
    else if (typeof value === "string" || typeof value === "number") tokens[column] = value === "" ? null : value
    else if (typeof value === "bigint") tokens[column] = Number(value)
    else tokens[column] = null
  }
  return tokens
}

export interface MergeResult {
  /** What the row holds after the write. */
  merged: TokenSet
  /** Only the columns whose value changes: empty when the write can be skipped. */
  changes: TokenSet
}

/** Merges incoming over stored: incoming values win, absent ones keep what is stored. */
export function mergeTokens(stored: TokenSet, incoming: TokenSet): MergeResult {
  const merged: TokenSet = { ...stored }
  const changes: TokenSet = {}
  for (const [column, value] of Object.entries(incoming)) {
    if (isAbsent(value)) continue
    if (merged[column] !== value) changes[column] = value
    merged[column] = value
  }
  return { merged, changes }
}
