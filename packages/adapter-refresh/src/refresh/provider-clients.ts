/**
 * The engine's providers, resolved at start-up: one `ProviderClient` per configured provider id, and the scope
 * dialect its scopes are read in. A provider that cannot be refreshed fails here (`resolveProvider`), at
 * construction, not at the first expiry. A provider asked for later that is not among them is refused by name.
 */
import { RefreshNotConfiguredError } from "../errors.js"
import { scopeDialectOf, type ScopeDialect } from "../policy/scopes.js"
import { ProviderClient, resolveProvider } from "./provider.js"
import type { RefreshOptions } from "./engine-types.js"

/** The providers by id: their clients and their scope dialects. */
export interface ProviderClients {
  clients: ReadonlyMap<string, ProviderClient>
  dialects: ReadonlyMap<string, ScopeDialect>
  /** The client of `provider`; `RefreshNotConfiguredError` when it is not in `refresh.providers`. */
  clientOf(provider: string): ProviderClient
}

/** Resolves every provider of `options` (throws on one that cannot be refreshed). */
export function providerClientsOf(
  options: Pick<RefreshOptions, "providers" | "allowInsecureRequests">,
): ProviderClients {
  const clients = new Map<string, ProviderClient>()
  const dialects = new Map<string, ScopeDialect>()
  for (const provider of options.providers) {
    const resolved = resolveProvider(provider, options.allowInsecureRequests === true)
    clients.set(resolved.id, new ProviderClient(resolved))
    dialects.set(resolved.id, scopeDialectOf(resolved))
  }
  const clientOf = (provider: string): ProviderClient => {
    const client = clients.get(provider)
    if (!client) throw new RefreshNotConfiguredError(provider, "it is not in refresh.providers")
    return client
  }
  return { clients, dialects, clientOf }
}
