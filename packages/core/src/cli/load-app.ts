import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigurationError, errorMessage } from '../errors.ts';
import type { Switchyard } from '../switchyard/create-switchyard.ts';

/** True for a value shaped like what `createSwitchyard` returns. */
function isSwitchyard(value: unknown): value is Switchyard {
  if (typeof value !== 'object' || value === null) return false;
  const app = value as Partial<Switchyard>;
  return (
    typeof app.close === 'function' &&
    typeof app.deadLetters === 'object' &&
    app.deadLetters !== null &&
    Array.isArray(app.routing)
  );
}

/**
 * Imports the app module `specifier` (a file path, relative to `cwd`, or a package name) and returns
 * its default export: a Switchyard, or what a (possibly async) function exported as default returns.
 * The app is not started. `ConfigurationError` when the module cannot be loaded or exports no app.
 */
export async function loadApp(specifier: string, cwd: string): Promise<Switchyard> {
  const path = isAbsolute(specifier) ? specifier : resolve(cwd, specifier);
  const url = existsSync(path) ? pathToFileURL(path).href : specifier;
  let module: { default?: unknown };
  try {
    module = (await import(url)) as { default?: unknown };
  } catch (cause) {
    throw new ConfigurationError(`Cannot load the app module "${specifier}": ${errorMessage(cause)}`);
  }
  let app = module.default;
  if (typeof app === 'function') app = await (app as () => unknown)();
  if (!isSwitchyard(app)) {
    throw new ConfigurationError(
      `The app module "${specifier}" must export as default what createSwitchyard(…) returns (not started), or a function returning it`,
    );
  }
  return app;
}
