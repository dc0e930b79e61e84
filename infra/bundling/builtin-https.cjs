// `node:https` for the bundles, without an ESM import (infra/constructs/house-function.ts says why).
module.exports = process.getBuiltinModule('node:https');
