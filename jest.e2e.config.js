/**
 * `npm run test:e2e`, the real-engine suite: the real Pulumi CLI against the local Docker engine
 * (tests/e2e/prepare.sh installs both's prerequisites). Each file brings a whole stack up, so they
 * run one per worker, two at a time; a step may take minutes.
 */
const layer = require("./jest.layer");

module.exports = layer(["tests/e2e"], { testTimeout: 900000, maxWorkers: 2 });
