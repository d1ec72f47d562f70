import { PrismaPg } from "@prisma/adapter-pg"
import { PrismaClient } from "../generated/prisma/client"
import { requiredEnv } from "./env"

// One client per server process (kept on globalThis so `next dev` reloads do not open new pools). Created
// on first use, not at import: `next build` imports this module without a database.
const cache = globalThis as typeof globalThis & { examplePrisma?: PrismaClient }

export function prisma(): PrismaClient {
  cache.examplePrisma ??= new PrismaClient({ adapter: new PrismaPg({ connectionString: requiredEnv("DATABASE_URL") }) })
  return cache.examplePrisma
}
