/** The Better Auth plugin through Better Auth's Drizzle adapter on SQLite: the suite is better-auth-orm-suite.ts. */
import { describeBetterAuthOrm } from "./better-auth-orm-suite.js"

describeBetterAuthOrm("Drizzle adapter (drizzleAdapter, drizzle-orm/better-sqlite3 file) on SQLite", "drizzle-sqlite")
