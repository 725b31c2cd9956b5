#!/usr/bin/env node
'use strict';
// The `coffer` command. The TypeScript sources are bundled by `npm run build` into dist/.
const path = require('node:path');
const fs = require('node:fs');
const entry = path.join(__dirname, '..', 'dist', 'main', 'cli.js');
if (!fs.existsSync(entry)) {
  process.stderr.write('coffer: not built yet; run `npm run build` in ' + path.join(__dirname, '..') + '\n');
  process.exit(1);
}
require(entry).main();
