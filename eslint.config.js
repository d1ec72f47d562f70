// One lint configuration for the whole workspace (`pnpm lint`). Formatting is Prettier's job
// (`pnpm format`); this file holds the rules that catch defects, most of all in concurrent code.
import js from "@eslint/js"
import globals from "globals"
import tseslint from "typescript-eslint"

export default tseslint.config(
  {
    ignores: ["**/node_modules/**", "**/dist/**", "**/.next/**", "**/generated/**", "docs/api/**", "**/next-env.d.ts"],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: {
        projectService: {
          // TypeScript files no tsconfig.json includes: the vitest config, and the package-consumer check's files,
          // which its own tsconfig.*.json type-check against the packed tarball.
          allowDefaultProject: [
            "*.js",
            "*.mjs",
            "*.cjs",
            "*.ts",
            "packages/adapter-refresh-tests/vitest.config.ts",
            "scripts/package-consumer/*.ts",
          ],
        },
      },
    },
    rules: {
      // A promise nobody awaits loses its rejection and races what follows: the bugs this library exists to fix.
      "@typescript-eslint/no-floating-promises": "error",
      // An async callback where a plain one is expected (an event listener, Array#forEach) is never awaited.
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/await-thenable": "error",
      "@typescript-eslint/require-await": "off",
      // Unused names are errors, but a leading underscore says "unused on purpose".
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrorsIgnorePattern: "^_" },
      ],
      // Prettier wraps code at 120; this catches what it cannot wrap: strings, comments, template literals.
      // One exception: the line that opens a test with its title. A title is what a failing run prints and what
      // a reader greps for, so it stays one string on one line.
      "max-len": [
        "error",
        {
          code: 120,
          ignoreUrls: true,
          ignoreRegExpLiterals: true,
          ignorePattern: "^\\s*(test|it|describe)(\\.\\w+)?\\(\\s*[\"'`]",
        },
      ],
    },
  },
  {
    files: ["**/*.js", "**/*.mjs", "**/*.cjs"],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // The scripts run on Node as ES modules: Node's globals (performance, setInterval, ...), not CommonJS's.
    files: ["**/*.js", "**/*.mjs"],
    languageOptions: { globals: globals.nodeBuiltin },
  },
  {
    // A .cjs file is CommonJS on purpose (scripts/package-consumer/require.cjs checks that require() of the
    // package works), so require() is its import.
    files: ["**/*.cjs"],
    languageOptions: { sourceType: "commonjs", globals: globals.node },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
)
