#!/usr/bin/env node
// The `zabkit` command. A committed shim, so npm can link it before the build has run
// (`npm install` builds the workspace in its prepare step).
import '../dist/cli.js';
