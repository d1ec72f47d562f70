/**
 * getAccessToken's parameters, checked before anything is read: a caller's mistake is a typed error naming the
 * field, never a query. Pure, so each refusal is tested without a database.
 */
import { InvalidAccountInputError } from "../errors.js"
import type { GetAccessTokenParams } from "./engine-types.js"

/**
 * Checks `params` and returns the user id as text (a safe integer id, as serial-id schemas use, becomes its
 * decimal form). Throws `InvalidAccountInputError` naming the first field that is wrong.
 */
export function checkAccessTokenParams(params: GetAccessTokenParams): string {
  if (typeof params !== "object" || params === null) throw new InvalidAccountInputError("params", "must be an object")
  const userId =
    typeof params.userId === "number" && Number.isSafeInteger(params.userId) ? String(params.userId) : params.userId
  if (typeof userId !== "string" || userId === "")
    throw new InvalidAccountInputError("userId", "must be a non-empty string")
  if (typeof params.provider !== "string" || params.provider === "")
    throw new InvalidAccountInputError("provider", "must be a non-empty string")
  if (
    params.refusedAccessToken !== undefined &&
    (typeof params.refusedAccessToken !== "string" || params.refusedAccessToken === "")
  )
    throw new InvalidAccountInputError("refusedAccessToken", "must be a non-empty string (the token the API refused)")
  return userId
}
