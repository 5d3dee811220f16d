/**
 * The real-engine suite (`npm run test:e2e`): the real Pulumi CLI against the local Docker engine
 * (tests/e2e/prepare.sh installs both's prerequisites). Each file brings a whole stack up, so they
 * run one per worker, two at a time; a step may take minutes.
 */
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/tests/e2e"],
  testMatch: ["**/*.test.ts"],
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.json", isolatedModules: false }] },
  testTimeout: 900000,
  maxWorkers: 2,
  reporters: ["default", "<rootDir>/tests/summaryReporter.js"],
};
