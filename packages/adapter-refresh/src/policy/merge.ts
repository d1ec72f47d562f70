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

function requireNonEmptyString(input: Record<string, unknown>, field: string): string {
  const value = input[field]
  if (typeof value !== "string" || value.trim() === "") {
    throw new InvalidAccountInputError(field, value === undefined || value === null ? "is missing" : "must be a non-empty string")
  }
  return value
}

/** Validates and returns the account's key. */
export function accountKeyOf(input: unknown): AccountKey {
  if (typeof input !== "object" || input === null) throw new InvalidAccountInputError("account", "must be an object")
  const record = input as Record<string, unknown>
  return {
    provider: requireNonEmptyString(record, "provider"),
    providerAccountId: requireNonEmptyString(record, "providerAccountId"),
  }
}

/**
 * Validates a required field of the account (`userId`, `type`). A user id may be an integer: schemas
 * with serial ids (@auth/pg-adapter) hand Auth.js numbers. It is returned as a string for comparison.
 */
export function requiredField(input: unknown, field: "userId" | "type"): string {
  const value = (input as Record<string, unknown>)[field]
  if (field === "userId" && typeof value === "number" && Number.isSafeInteger(value)) return String(value)
  return requireNonEmptyString(input as Record<string, unknown>, field)
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
    if (typeof value === "string") tokens[column] = value
    else if (!isStandard && typeof value === "number" && Number.isFinite(value)) tokens[column] = value
    else throw new InvalidAccountInputError(column, isStandard ? "must be a string" : "must be a string or a finite number")
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
