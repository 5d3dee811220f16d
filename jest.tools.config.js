/**
 * `npm run test:tools`: the real tools on what the program generates (nginx, promtool and amtool,
 * PostgreSQL, Redis, Alloy's parser, hadolint, actionlint). .ci/run installs them (as root).
 */
const layer = require("./jest.layer");

module.exports = layer(["tests/tools"], { testTimeout: 60000 });
