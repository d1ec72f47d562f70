/**
 * Which rows a write under the account lock belongs to: every row of the key is read, the owners the policy
 * needs are looked up, and policy/ownership.ts decides. Its refusals become the typed errors callers see.
 * Apart from the sync so the reads it makes and the errors it throws are tested over a fake locked account.
 */
import { AccountLinkedToAnotherUserError, AmbiguousAccountOwnerError, type TokenSyncError } from "./errors.js"
import { decideOwnership, ownersToCheck, type OwnershipDecision, type OwnershipMode } from "./policy/ownership.js"
import type { AccountKey, LockedAccount, StoredAccountRow, UserId } from "./store.js"

/** The key's rows as read under the lock, and whose of them the write may touch. */
export interface Ownership {
  rows: StoredAccountRow[]
  decision: OwnershipDecision
}

/**
 * Reads every row of the locked key and decides, by the ownership policy, whose rows `caller` may write in
 * `mode`. `callerAsTyped` is the caller's id as given (a Prisma `Int` id must reach the store as a number).
 */
export async function ownershipOf(
  account: Pick<LockedAccount, "readAll" | "userExists">,
  caller: string | undefined,
  mode: OwnershipMode,
  callerAsTyped?: UserId,
): Promise<Ownership> {
  const rows = await account.readAll()
  const owners = rows.map((row) => row.userId)
  const exists = new Map<string, boolean>()
  for (const userId of ownersToCheck(owners, caller, mode)) {
    exists.set(
      userId,
      await account.userExists(userId === caller && callerAsTyped !== undefined ? callerAsTyped : userId),
    )
  }
  return { rows, decision: decideOwnership({ owners, caller, mode, exists }) }
}

/** The typed error of a refusal: several owners and no caller, or the key linked to another live user. */
export function refusalError(
  decision: Extract<OwnershipDecision, { action: "refuse" }>,
  key: AccountKey,
): TokenSyncError {
  return decision.reason === "ambiguous-owner"
    ? new AmbiguousAccountOwnerError(key.provider, decision.owners)
    : new AccountLinkedToAnotherUserError(key.provider)
}
