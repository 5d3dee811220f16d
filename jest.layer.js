/**
 * The jest config of one test layer (jest.config.js and jest.<layer>.config.js use it). TypeScript
 * is only transpiled here (tsconfig.json's isolatedModules): `npm run build` (tsc) type-checks it
 * all, once.
 */
"use strict";

/** @returns {import('jest').Config} */
module.exports = function layer(roots, extra = {}) {
  return {
    testEnvironment: "node",
    roots: roots.map((r) => `<rootDir>/${r}`),
    testMatch: ["**/*.test.ts"],
    transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.json" }] },
    // The program runs under mocks are recorded once per jest run (tests/program/harness.ts).
    globalSetup: "<rootDir>/tests/program/globalSetup.ts",
    globalTeardown: "<rootDir>/tests/program/globalTeardown.ts",
    reporters: ["default", "<rootDir>/tests/summaryReporter.js"],
    ...extra,
  };
};
