/**
 * Pure paging for stores that cannot ask their database for keys in order (Redis, DynamoDB): they read every
 * candidate row, and these functions cut the page `scanAccounts` and `listReauthMarks` promise out of them, the
 * way the SQL statements' `ORDER BY provider, providerAccountId` and keyset bound do.
 */
import type { AccountKey, ReauthMark, ReauthMarkPage } from "./store.js"

/** Compares two texts by UTF-16 code units (JavaScript's `<`), the one order every page of a store uses. */
const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/** The (provider, providerAccountId) order; ids compared as text. */
export function compareAccountKeys(a: AccountKey, b: AccountKey): number {
  return byCodeUnits(a.provider, b.provider) || byCodeUnits(String(a.providerAccountId), String(b.providerAccountId))
}

/**
 * The rows of the first `limit` keys after `after` (exclusive; from the first key when absent), in key order
 * and then in `tie` order, every row of each key: a page never splits a key.
 *
 * @param rows Every candidate row, in any order.
 * @param page The keyset bound and the most keys in the page (a positive integer).
 * @param tie The order of the rows of one key.
 */
export function pageOfKeys<T extends AccountKey>(
  rows: readonly T[],
  page: { after?: AccountKey | undefined; limit: number },
  tie: (a: T, b: T) => number,
): T[] {
  const { after } = page
  const sorted = rows
    .filter((row) => !after || compareAccountKeys(row, after) > 0)
    .sort((a, b) => compareAccountKeys(a, b) || tie(a, b))
  const out: T[] = []
  let keys = 0
  for (const [i, row] of sorted.entries()) {
    const previous = sorted[i - 1]
    if (!previous || compareAccountKeys(previous, row) !== 0) keys++
    if (keys > page.limit) break
    out.push(row)
  }
  return out
}

/** A row as a listing reads it: the key, the owner (as text) and the mark column's stored value. */
export interface MarkCandidate extends AccountKey {
  userId: string
  mark: unknown
}

/**
 * `listReauthMarks`'s page from candidate rows: only rows whose mark is a non-empty text (null, absent, "" and
 * other types are no mark, as SQL's `<> ''` on a text column), at `page.provider` when given, each different
 * owner and mark of a key once, keyset-paged as {@link pageOfKeys}.
 */
export function reauthMarksPage(candidates: readonly MarkCandidate[], page: ReauthMarkPage): ReauthMark[] {
  const seen = new Set<string>()
  const marks: ReauthMark[] = []
  for (const row of candidates) {
    if (typeof row.mark !== "string" || row.mark === "") continue
    if (page.provider !== undefined && row.provider !== page.provider) continue
    const mark: ReauthMark = {
      provider: row.provider,
      providerAccountId: String(row.providerAccountId),
      userId: row.userId,
      reason: row.mark,
    }
    const id = JSON.stringify([mark.provider, mark.providerAccountId, mark.userId, mark.reason])
    if (seen.has(id)) continue
    seen.add(id)
    marks.push(mark)
  }
  return pageOfKeys(marks, page, (a, b) => byCodeUnits(a.userId, b.userId) || byCodeUnits(a.reason, b.reason))
}
