import { PrismaAdapter } from "@auth/prisma-adapter"
import { withTokenSync } from "authjs-adapter-refresh"
import { prisma } from "./prisma"
import { providerFromEnv } from "./provider"

/**
 * The adapter, built once per server process (the refresh engine's single-flight and its caches live in
 * it). TOKEN_SYNC=off is the control: the bare PrismaAdapter, as Auth.js ships it, which stores the tokens
 * of the first sign-in only and never refreshes them.
 */
function createSetup() {
  const choice = providerFromEnv()
  const db = prisma()
  if (process.env.TOKEN_SYNC?.trim() === "off") {
    return { tokenSync: false as const, choice, adapter: PrismaAdapter(db) }
  }
  const skewSeconds = Number(process.env.TOKEN_REFRESH_SKEW_SECONDS) || 60 // refresh this long before expiry
  const adapter = withTokenSync(PrismaAdapter(db), db, { refresh: { providers: [choice.provider], skewSeconds } })
  return { tokenSync: true as const, choice, adapter }
}

export type AppSetup = ReturnType<typeof createSetup>

// Kept on globalThis: Next.js bundles the page and the route handlers separately, and each bundle has its
// own copy of this module; one adapter (one refresh engine) per process is what the library expects.
const cache = globalThis as typeof globalThis & { exampleSetup?: AppSetup }

export function appSetup(): AppSetup {
  cache.exampleSetup ??= createSetup()
  return cache.exampleSetup
}
