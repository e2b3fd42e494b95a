#!/usr/bin/env node
/**
 * The `switchyard` command line (installed with @switchyard/core): `switchyard --help`.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { runCli } from './run-cli.ts';

const version = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

process.exitCode = await runCli(
  process.argv.slice(2),
  {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    cwd: process.cwd(),
  },
  version,
);
// Everything the app opened is closed by now; a handle something else left open must not hold the
// command line up.
setTimeout(() => process.exit(), 2_000).unref();
