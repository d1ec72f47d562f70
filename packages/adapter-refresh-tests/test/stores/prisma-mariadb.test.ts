/**
 * The store suite on MariaDB: @auth/prisma-adapter's MySQL schema, Prisma 7 + @prisma/adapter-mariadb on a real server.
 */
import { detectionTests, otherDatabase } from "./prisma-other-databases.js"
import { describeStore } from "./store-suite.js"

describeStore({
  flavour: "prisma",
  storeName: "prisma",
  expiresAtAs: "number",
  allowsDuplicates: false,
  database: otherDatabase("mysql"),
  extra(ctx) {
    detectionTests(ctx, "mysql")
  },
})
