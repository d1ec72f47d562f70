/**
 * Type test, checked by `pnpm typecheck`: the one-argument line the design promised,
 * `withTokenSync(PrismaAdapter(prisma))`, does not compile, in a v5 config and as a plain call (each line
 * under `@ts-expect-error`). one-argument.test.ts compiles this file without those markers and checks
 * that each error shows the two-argument line, not a bare "Expected 2-3 arguments".
 */
import type { AuthConfig } from "@auth/core"
import { PrismaAdapter } from "@auth/prisma-adapter"
import { DrizzleAdapter } from "@auth/drizzle-adapter"
import { withTokenSync } from "authjs-adapter-refresh"
import type { NodePgDatabase } from "drizzle-orm/node-postgres"
import type { PrismaClient } from "../../generated/prisma/client"

declare const prisma: PrismaClient
declare const db: NodePgDatabase

export const config: AuthConfig = {
  // @ts-expect-error one argument: the client is missing
  adapter: withTokenSync(PrismaAdapter(prisma)),
  providers: [],
}
// @ts-expect-error one argument: the client is missing
export const drizzle = withTokenSync(DrizzleAdapter(db))

// The two-argument lines compile (the control of the two above).
export const fixed: AuthConfig = { adapter: withTokenSync(PrismaAdapter(prisma), prisma), providers: [] }
export const fixedDrizzle = withTokenSync(DrizzleAdapter(db), db)
