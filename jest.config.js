/**
 * `npm test`'s layer: the unit tests and the whole program under mocks. No root, no daemon, no
 * network, no tool beyond Node. The other layers: jest.tools.config.js (the real tools on the
 * generated files), jest.images.config.js (the images, built and run), jest.e2e.config.js (the
 * real Pulumi CLI against a Docker engine).
 */
const layer = require("./jest.layer");

module.exports = layer(["tests/unit", "tests/program"], {
  // Both cores: a program run is a child process, and the next file runs beside it.
  maxWorkers: 2,
  testTimeout: 60000,
});
