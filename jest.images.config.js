/**
 * `npm run test:images`: the images of docker/ built and run on a local Docker engine
 * (tests/images/prepare.sh prepares one, as root).
 */
const layer = require("./jest.layer");

module.exports = layer(["tests/images"], { testTimeout: 60000 });
