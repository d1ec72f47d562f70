/**
 * Which cross-process coordination an engine runs, checked at construction: lease mode needs the store's
 * leases, and a store whose own lock is a lease cannot run lock mode (the provider request would run inside a
 * lock that may end). Refused with `InvalidOptionsError` at start-up, not at the first expiry. Pure.
 */
import { InvalidOptionsError } from "../errors.js"
import type { AccountLeases, AccountStore } from "../store.js"
import type { RefreshOptions } from "./engine-types.js"

/** The store's leases when `options` ask for lease mode; undefined for lock mode. Throws when the store cannot. */
export function leasesFor(
  store: Pick<AccountStore, "name" | "coordination" | "leases">,
  options: Pick<RefreshOptions, "coordination">,
): AccountLeases | undefined {
  if (store.coordination === "lease" && options.coordination !== "lease")
    throw new InvalidOptionsError(
      "refresh.coordination",
      `withTokenSync: the ${store.name} account store's lock is a lease (AccountStore.coordination "lease"), ` +
        `which may end while a provider request runs inside it, as lock mode runs it; set ` +
        `refresh.coordination: "lease" (the request then runs outside the lock, under a refresh lease).`,
    )
  if (options.coordination !== "lease") return undefined
  if (store.leases) return store.leases
  throw new InvalidOptionsError(
    "refresh.coordination",
    `withTokenSync: refresh.coordination "lease" needs a store with leases (AccountStore.leases), ` +
      `which the ${store.name} account store does not provide; use "lock" or a store that has them.`,
  )
}
