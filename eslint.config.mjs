// typescript-eslint, type-checked, over everything tsc checks. Formatting is Prettier's job.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["**/node_modules/**", "**/dist/**", "web/dist/**", "bench/results/**", "coverage/**", "**/*.cjs", "**/*.mjs", "**/*.js"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      // Promises fired on purpose are marked with `void`; the rest must be handled.
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: false }],
      // Tests and the JSON edges work with parsed `any` on purpose (frames under test).
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-return": "off",
      "@typescript-eslint/require-await": "off",
    },
  },
  {
    // ws hands tests a Buffer; its toString() is the frame's text.
    files: ["**/test/**", "test/**", "bench/**"],
    rules: { "@typescript-eslint/no-base-to-string": "off" },
  },
  {
    // Lit binds `@event=${this.handler}` listeners to the element itself.
    files: ["web/src/components/**"],
    rules: { "@typescript-eslint/unbound-method": "off" },
  },
);
