#!/usr/bin/env node
/**
 * Builds what `next start` runs, once per content (library dist, Prisma client, `next build`): see
 * scripts/build-next-example.mjs at the repository root, shared with the other Next.js example.
 *
 * Usage: node scripts/build.mjs [--force]
 */
import { buildNextExample } from "../../../scripts/build-next-example.mjs"

buildNextExample(import.meta.url, [
  "app",
  "lib",
  "auth.ts",
  "next.config.ts",
  "tsconfig.json",
  "package.json",
  "prisma/schema.prisma",
])
