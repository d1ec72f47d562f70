/**
 * What a sign-in write or link takes from its input, checked before the database is touched (bad input writes
 * nothing): the account's key, the caller's user id (as text for the ownership policy, as typed for the
 * store), and the tokens it brings, without the columns that are the library's own (the reauth mark, the
 * refresh token's expiry, which is computed from the answer instead). Pure, tested without a database.
 */
import { accountKeyOf, incomingTokens, optionalUserId, requiredField, type TokenSet } from "./policy/merge.js"
import { readRefreshTokenExpiry, refreshTokenExpiryValue } from "./policy/refresh-token-expiry.js"
import type { AccountKey, UserId } from "./store.js"

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

/** The sync's columns and clock, as the input is read with them. */
export interface SignInInputSettings {
  columns: readonly string[]
  reauthColumn: string | undefined
  expiryColumn: string | undefined
  now: () => number
}

/** A checked sign-in input. */
export interface SignInInput {
  key: AccountKey
  /** The caller's id as text; undefined for a sync without one (the key's owner is then looked up). */
  userId: string | undefined
  /** The id as the caller typed it: it goes to the store and back to the caller. */
  callerUserId: UserId | undefined
  incoming: TokenSet
}

/**
 * Checks `input` for a "link" (userId and type required) or a "sync" (userId optional) and reads the tokens it
 * brings. Throws `InvalidAccountInputError` naming the field that is wrong.
 */
export function signInInputOf(input: unknown, mode: "link" | "sync", settings: SignInInputSettings): SignInInput {
  const { columns, reauthColumn, expiryColumn, now } = settings
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
  return { key, userId, callerUserId, incoming }
}
