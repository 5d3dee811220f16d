/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/tests"],
  testMatch: ["**/*.test.ts"],
  // The real-engine suite has its own command (npm run test:e2e, jest.e2e.config.js).
  testPathIgnorePatterns: ["/node_modules/", "<rootDir>/tests/e2e/"],
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.json", isolatedModules: false }] },
  // The program tests register a whole stack under mocks; give them room on a shared 2-core machine.
  testTimeout: 60000,
  reporters: ["default", "<rootDir>/tests/summaryReporter.js"],
};
