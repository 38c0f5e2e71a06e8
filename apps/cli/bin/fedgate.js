#!/usr/bin/env node
// Launcher for the compiled CLI; builds the workspace first when it has not been built.
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const { execFileSync } = require('node:child_process');
const root = path.resolve(__dirname, '..', '..', '..');
const entry = path.join(root, 'dist', 'apps', 'cli', 'src', 'main.js');
if (!fs.existsSync(entry)) {
  execFileSync('bash', [path.join(root, 'scripts', 'build.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
}
require(entry);
