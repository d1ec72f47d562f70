/** The Better Auth plugin through Better Auth's Drizzle adapter on MariaDB: the suite is better-auth-orm-suite.ts. */
import { describeBetterAuthOrm } from "./better-auth-orm-suite.js"

describeBetterAuthOrm("Drizzle adapter (drizzleAdapter, drizzle-orm/mysql2 pool) on MariaDB", "drizzle-mariadb")
