/** The Better Auth plugin through Better Auth's Prisma adapter on MariaDB: the suite is better-auth-orm-suite.ts. */
import { describeBetterAuthOrm } from "./better-auth-orm-suite.js"

describeBetterAuthOrm("Prisma adapter (prismaAdapter, @prisma/adapter-mariadb) on MariaDB", "prisma-mariadb")
