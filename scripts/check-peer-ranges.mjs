#!/usr/bin/env node
// Fails when a package's range on another workspace package breaks the release policy in
// CONTRIBUTING.md ("Versions and peer ranges"):
//
// - a publishable package takes a workspace package (core) as a *peer*, never as a dependency
//   (two copies of core split state);
// - the peer range is written `workspace:>=X.Y.Z <N.0.0`: the oldest supported version, up to the
//   next major (`<1.0.0` while in 0.x). `workspace:^` / `workspace:*` / `workspace:~` are refused:
//   pnpm publishes them as `^<version in the workspace at publish time>`, so an adapter released
//   after a core minor (or even patch) drops every older core;
// - the range includes the workspace's current version (pnpm refuses to link otherwise);
// - .changeset/config.json sets `onlyUpdatePeerDependentsWhenOutOfRange`, without which
//   `changeset version` raises the lower bound of every adapter released together with core;
// - a pending core major comes with a changeset for each package that peers on it (changesets
//   itself would give them only a patch while their range drops the old major).
//
// `node scripts/check-peer-ranges.mjs --self-test` first checks that the rules reject known-bad
// input (and accept the good form), so this check cannot pass by checking nothing.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const POLICY = 'see CONTRIBUTING.md, "Versions and peer ranges"';
const RANGE = /^workspace:>=(\d+)\.(\d+)\.(\d+) <(\d+)\.0\.0$/;
const BUMPS = ['none', 'patch', 'minor', 'major'];

/** @param {string} version */
function parseVersion(version) {
  const match = /^(\d+)\.(\d+)\.(\d+)(?:-.*)?$/.exec(version);
  if (!match) return undefined;
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

/** -1, 0 or 1 as `a` is below, equal to or above `b` (release part only). */
function compare(a, b) {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return 0;
}

/**
 * Problems with one package's ranges on workspace packages.
 * @param {{ name: string, private?: boolean, dependencies?: Record<string, string>, optionalDependencies?: Record<string, string>, peerDependencies?: Record<string, string> }} pkg
 * @param {Map<string, string>} workspaceVersions name → version of every workspace package
 */
export function rangeProblems(pkg, workspaceVersions) {
  if (pkg.private) return [];
  const problems = [];
  for (const field of ['dependencies', 'optionalDependencies']) {
    for (const name of Object.keys(pkg[field] ?? {})) {
      if (workspaceVersions.has(name)) {
        problems.push(`${pkg.name}: ${name} is in ${field}; make it a peerDependency (one copy per process)`);
      }
    }
  }
  for (const [name, range] of Object.entries(pkg.peerDependencies ?? {})) {
    const current = workspaceVersions.get(name);
    if (current === undefined) continue;
    const match = RANGE.exec(range);
    if (!match) {
      problems.push(
        `${pkg.name}: peer ${name} is "${range}"; write "workspace:>=<oldest supported> <<next major>.0.0>", e.g. "workspace:>=${current} <${nextMajor(current)}.0.0"`,
      );
      continue;
    }
    const lower = [Number(match[1]), Number(match[2]), Number(match[3])];
    const upper = Number(match[4]);
    const expectedUpper = lower[0] + 1;
    if (upper !== expectedUpper) {
      problems.push(
        `${pkg.name}: peer ${name} "${range}" must end at the next major of its lower bound, <${expectedUpper}.0.0`,
      );
    }
    const currentVersion = parseVersion(current);
    if (currentVersion === undefined) {
      problems.push(`${pkg.name}: ${name} has no valid version ("${current}")`);
    } else if (compare(lower, currentVersion) > 0 || currentVersion[0] >= upper) {
      problems.push(
        `${pkg.name}: peer ${name} "${range}" does not include the workspace's ${name}@${current}`,
      );
    }
  }
  return problems;
}

/** @param {string} version */
function nextMajor(version) {
  return (parseVersion(version)?.[0] ?? 0) + 1;
}

/** Problems with .changeset/config.json. */
export function configProblems(config) {
  const unsafe = config.___experimentalUnsafeOptions_WILL_CHANGE_IN_PATCH ?? {};
  const problems = [];
  if (unsafe.onlyUpdatePeerDependentsWhenOutOfRange !== true) {
    problems.push(
      '.changeset/config.json: set ___experimentalUnsafeOptions_WILL_CHANGE_IN_PATCH.onlyUpdatePeerDependentsWhenOutOfRange to true (otherwise `changeset version` raises the lower bound of every peer range released together with core)',
    );
  }
  if (unsafe.updateInternalDependents === 'always') {
    problems.push(
      '.changeset/config.json: updateInternalDependents "always" releases every adapter on every core release',
    );
  }
  return problems;
}

/**
 * Problems with the pending changesets: a major of a package that others peer on needs a changeset
 * for each of them (changesets alone gives them a patch whose range drops the old major).
 * @param {{ id: string, releases: Map<string, string> }[]} changesets
 * @param {{ name: string, version: string, private?: boolean, peerDependencies?: Record<string, string> }[]} packages
 */
export function changesetProblems(changesets, packages) {
  const bump = new Map();
  for (const { releases } of changesets) {
    for (const [name, type] of releases) {
      if (BUMPS.indexOf(type) > BUMPS.indexOf(bump.get(name) ?? 'none')) bump.set(name, type);
    }
  }
  const problems = [];
  for (const [name, type] of bump) {
    if (type !== 'major') continue;
    for (const dependent of packages) {
      if (dependent.private || !dependent.peerDependencies?.[name]) continue;
      // A breaking change of a 0.x package is a minor; from 1.0 on, a major.
      const needed = (parseVersion(dependent.version)?.[0] ?? 0) === 0 ? 'minor' : 'major';
      const own = bump.get(dependent.name) ?? 'none';
      if (BUMPS.indexOf(own) < BUMPS.indexOf(needed)) {
        problems.push(
          `${dependent.name}: a changeset releases ${name} as a major; add a "${needed}" changeset for ${dependent.name} that raises its peer range (it has "${own}")`,
        );
      }
    }
  }
  return problems;
}

/** The releases in a changeset file's front matter. */
export function parseChangeset(id, text) {
  const front = /^---\r?\n([\s\S]*?)\r?\n---/.exec(text);
  const releases = new Map();
  for (const line of (front?.[1] ?? '').split(/\r?\n/)) {
    const match = /^\s*["']?([^"':]+)["']?\s*:\s*(major|minor|patch|none)\s*$/.exec(line);
    if (match) releases.set(match[1], match[2]);
  }
  return { id, releases };
}

function selfTest() {
  const versions = new Map([['@switchyard/core', '0.3.1']]);
  const pkg = (peer, extra = {}) => ({
    name: 'adapter',
    peerDependencies: { '@switchyard/core': peer },
    ...extra,
  });
  const bad = [
    pkg('workspace:^'),
    pkg('workspace:*'),
    pkg('workspace:~'),
    pkg('^0.3.0'),
    pkg('workspace:^0.3.0'),
    pkg('workspace:>=0.3.0'),
    pkg('workspace:>=0.3.0 <0.4.0'),
    pkg('workspace:>=0.4.0 <1.0.0'),
    pkg('workspace:>=0.3.0 <2.0.0'),
    { name: 'adapter', dependencies: { '@switchyard/core': 'workspace:>=0.3.0 <1.0.0' } },
  ];
  const failures = [];
  for (const input of bad) {
    if (rangeProblems(input, versions).length === 0) failures.push(`accepted ${JSON.stringify(input)}`);
  }
  for (const good of ['workspace:>=0.1.0 <1.0.0', 'workspace:>=0.3.1 <1.0.0']) {
    const problems = rangeProblems(pkg(good), versions);
    if (problems.length > 0) failures.push(`refused "${good}": ${problems.join('; ')}`);
  }
  if (rangeProblems(pkg('workspace:^', { private: true }), versions).length > 0)
    failures.push('checked a private package');
  if (rangeProblems(pkg('workspace:>=1.2.0 <2.0.0'), new Map([['@switchyard/core', '1.4.0']])).length > 0) {
    failures.push('refused a 1.x range');
  }
  if (configProblems({}).length === 0)
    failures.push('accepted a config without onlyUpdatePeerDependentsWhenOutOfRange');
  const good = {
    ___experimentalUnsafeOptions_WILL_CHANGE_IN_PATCH: { onlyUpdatePeerDependentsWhenOutOfRange: true },
  };
  if (configProblems(good).length > 0) failures.push('refused the policy config');
  const packages = [
    { name: '@switchyard/core', version: '0.3.1' },
    {
      name: 'adapter',
      version: '0.2.0',
      peerDependencies: { '@switchyard/core': 'workspace:>=0.1.0 <1.0.0' },
    },
  ];
  const coreMajor = parseChangeset('a', '---\n"@switchyard/core": major\n---\n\ntext\n');
  const adapterMinor = parseChangeset('b', "---\n'adapter': minor\n---\n");
  if (changesetProblems([coreMajor], packages).length === 0)
    failures.push('accepted a core major without adapter changesets');
  if (changesetProblems([coreMajor, adapterMinor], packages).length > 0)
    failures.push('refused a core major with adapter changesets');
  const coreMinor = parseChangeset('c', '---\n"@switchyard/core": minor\n---\n');
  if (changesetProblems([coreMinor], packages).length > 0) failures.push('refused a core-only minor');
  return failures;
}

function main() {
  const selfTestFailures = selfTest();
  if (selfTestFailures.length > 0) {
    console.error(`check-peer-ranges: self-test failed:\n  ${selfTestFailures.join('\n  ')}`);
    process.exit(1);
  }
  if (process.argv.includes('--self-test')) {
    console.log('check-peer-ranges: self-test passed');
    return;
  }
  const root = new URL('..', import.meta.url).pathname;
  const packages = [];
  for (const dir of readdirSync(join(root, 'packages'), { withFileTypes: true })) {
    if (!dir.isDirectory()) continue;
    try {
      packages.push(JSON.parse(readFileSync(join(root, 'packages', dir.name, 'package.json'), 'utf8')));
    } catch (error) {
      if (error?.code !== 'ENOENT') throw error;
    }
  }
  const versions = new Map(packages.map((pkg) => [pkg.name, pkg.version]));
  const problems = packages.flatMap((pkg) => rangeProblems(pkg, versions));
  problems.push(...configProblems(JSON.parse(readFileSync(join(root, '.changeset/config.json'), 'utf8'))));
  const changesetDir = join(root, '.changeset');
  const changesets = readdirSync(changesetDir)
    .filter((file) => file.endsWith('.md') && file !== 'README.md')
    .map((file) => parseChangeset(file, readFileSync(join(changesetDir, file), 'utf8')));
  problems.push(...changesetProblems(changesets, packages));
  if (problems.length > 0) {
    console.error(
      `check-peer-ranges: ${problems.length} problem(s) (${POLICY}):\n  ${problems.join('\n  ')}`,
    );
    process.exit(1);
  }
  const peers = packages.filter(
    (pkg) => !pkg.private && Object.keys(pkg.peerDependencies ?? {}).some((n) => versions.has(n)),
  );
  console.log(
    `check-peer-ranges: ${peers.length} packages' peer ranges follow the policy (self-test passed)`,
  );
}

main();
