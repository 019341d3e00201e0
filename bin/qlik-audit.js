#!/usr/bin/env node
// Launcher: checks the Node.js version first (in plain JavaScript, so an old Node gets one clear
// line, not a syntax error), then runs the TypeScript CLI through tsx (no build step to forget).
const MINIMUM = [20, 18, 1]; // undici 7 needs 20.18.1; crypto.hash (row digests) 20.12
const current = process.versions.node.split('.').map(Number);
const tooOld = MINIMUM.some((part, i) => current.slice(0, i).every((c, j) => c === MINIMUM[j]) && (current[i] ?? 0) < part);
if (tooOld) {
  process.stderr.write(`qlik-audit needs Node.js ${MINIMUM.join('.')} or newer, this is ${process.versions.node}: install the current Node.js 20, 22 or 24 LTS (https://nodejs.org/en/download)\n`);
  process.exit(1);
}
require('tsx/cjs');
require('../cli/main.ts');
