// `npm run package`: a production build (minified bundle, Release addon copied next to it)
// packed into alloy-<version>.vsix with vsce. The .vsix holds only dist/, the manifest and
// the README (see .vscodeignore); the addon inside is for this platform (vsce --target).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function run(cmd, args, env = {}) {
  console.log(`[package] ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.status !== 0) process.exit(r.status || 1);
}

run(process.execPath, [path.join(root, 'scripts', 'build.mjs')], { ALLOY_PRODUCTION: '1' });
const addon = path.join(root, 'build', 'Release', 'alloy.node');
if (!existsSync(addon)) {
  console.error('[package] build/Release/alloy.node is missing after the build');
  process.exit(1);
}
// The copy lives in dist/ only while vsce packs it: in a development tree the addon is
// loaded from build/Release, and a stale copy in dist/ would shadow fresh builds.
const packedAddon = path.join(root, 'dist', 'alloy.node');
copyFileSync(addon, packedAddon);
process.on('exit', () => rmSync(packedAddon, { force: true }));
const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const target = `${process.platform === 'win32' ? 'win32' : process.platform}-${process.arch}`;
const out = path.join(root, `alloy-${version}-${target}.vsix`);
run('npx', ['vsce', 'package', '--no-dependencies', '--allow-missing-repository', '--skip-license', '--target', target, '--out', out]);
console.log(`[package] wrote ${out}`);
