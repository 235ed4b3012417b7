#!/usr/bin/env node
// Entry for `npx skiff` and `npm start`: registers the TypeScript loader, then runs the CLI.
import { register } from 'tsx/esm/api';

// The AWS SDK warns on every start that its 2027 releases will need Node 22; Node 20 is what
// this project supports today, so the warning is noise for a user of `npm start`.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = (warning, ...rest) => {
  const name = typeof rest[0] === 'string' ? rest[0] : rest[0]?.type;
  if (name === 'NodeVersionSupportWarning' || String(warning).includes('NodeVersionSupportWarning')) return;
  emitWarning(warning, ...rest);
};

register();
await import('./cli.ts');
