/**
 * Pure policy: which rows of one account key a write may touch.
 *
 * On schemas without a unique key on (provider, providerAccountId) (those of `@auth/kysely-adapter` and
 * `@auth/pg-adapter`), one key may have several rows, and they may belong to different users. A write
 * never changes a row that belongs to another live user: that would hand a provider account, and its
 * tokens, to someone else. Only orphaned rows (their user deleted) are adopted. A set of rows the policy
 * cannot attribute to one user is refused rather than guessed at.
 *
 * The core reads every row of the key under the lock, asks `ownersToCheck` whose existence it must look up
 * (usually nobody: the common row is the caller's own), then follows `decideOwnership`.
 */

/** What the write is: Auth.js linking an account to a user, or tokens synced for an account. */
export type OwnershipMode = "link" | "sync"

export interface OwnershipInput {
  /** The distinct owners (userId) of the key's rows, in any order; empty when the key has no row. */
  owners: readonly string[]
  /** The user the call is for (`userId` of the input), or undefined when the call names none. */
  caller: string | undefined
  mode: OwnershipMode
  /**
   * Whether each user in `ownersToCheck(owners, caller, mode)` exists. Other entries are not read. On a
   * link the caller is taken to exist: Auth.js calls `linkAccount` right after creating or finding the user.
   */
  exists: ReadonlyMap<string, boolean>
}

export type OwnershipDecision =
  /** The key has no row: insert one for the caller. */
  | { action: "insert"; owner: string }
  /** Nothing to write: no row, and no (existing) user to attach one to. */
  | { action: "skip" }
  /**
   * Write the rows of `owner` (there may be none when every row is adopted), and re-point the rows of
   * each orphaned owner in `adopt` to `owner`. Rows of anyone else stay exactly as they are.
   */
  | { action: "write"; owner: string; adopt: readonly string[] }
  /** Another live user owns the key and the caller owns none of its rows. */
  | { action: "refuse"; reason: "linked-to-another-user" }
  /** The call names no user and the rows belong to several: which one is meant cannot be known. */
  | { action: "refuse"; reason: "ambiguous-owner"; owners: number }

const distinct = (owners: readonly string[]): string[] => [...new Set(owners)]

/** The users whose existence `decideOwnership` needs for these owners: none in the common case. */
export function ownersToCheck(owners: readonly string[], caller: string | undefined, mode: OwnershipMode): string[] {
  const unique = distinct(owners)
  if (caller === undefined) return unique.length > 1 ? unique : []
  const others = unique.filter((owner) => owner !== caller)
  // A sync may name a user who is gone; it must neither insert for nor adopt rows into a missing user.
  const callerUnknown = mode === "sync" && !unique.includes(caller)
  return callerUnknown ? [...others, caller] : others
}

export function decideOwnership(input: OwnershipInput): OwnershipDecision {
  const owners = distinct(input.owners)
  const { caller, mode } = input
  const isLive = (userId: string): boolean => input.exists.get(userId) === true

  if (caller === undefined) {
    if (owners.length === 0) return { action: "skip" }
    if (owners.length === 1) return { action: "write", owner: owners[0]!, adopt: [] }
    // Several owners: the one live owner is meant (orphans stay as they are); several live ones, or only
    // orphans, cannot be told apart.
    const live = owners.filter(isLive)
    if (live.length === 1) return { action: "write", owner: live[0]!, adopt: [] }
    return { action: "refuse", reason: "ambiguous-owner", owners: live.length > 1 ? live.length : owners.length }
  }

  const callerOwns = owners.includes(caller)
  const others = owners.filter((owner) => owner !== caller)
  const liveOthers = others.filter(isLive)
  if (liveOthers.length > 0) {
    // The caller's own rows may be written; nothing else is, not even orphans (whose would they be?).
    return callerOwns
      ? { action: "write", owner: caller, adopt: [] }
      : { action: "refuse", reason: "linked-to-another-user" }
  }
  const callerExists = mode === "link" || callerOwns || isLive(caller)
  if (!callerExists) return { action: "skip" }
  if (owners.length === 0) return { action: "insert", owner: caller }
  return { action: "write", owner: caller, adopt: others }
}
