// `npm run build` (also run by `npm install`): builds the native addon with cmake-js
// (Release) and bundles the TypeScript entries with esbuild.
//   --native-only   only the addon
//   --bundle-only   only the bundle
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const jobs = String(Number(process.env.ALLOY_BUILD_JOBS) || 2);

function run(cmd, cmdArgs) {
  console.log(`[build] ${cmd} ${cmdArgs.join(' ')}`);
  const r = spawnSync(cmd, cmdArgs, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`[build] failed: ${cmd} ${cmdArgs.join(' ')} (exit ${r.status ?? r.signal})`);
    process.exit(r.status || 1);
  }
}

const cmakeJs = path.join(root, 'node_modules', 'cmake-js', 'bin', 'cmake-js');
if (!args.has('--bundle-only')) {
  if (!existsSync(cmakeJs)) {
    console.error('[build] cmake-js is not installed: run `npm install` first');
    process.exit(1);
  }
  const generator = spawnSync('ninja', ['--version']).status === 0 ? ['-G', 'Ninja'] : [];
  run(process.execPath, [cmakeJs, 'compile', '-d', 'native', '-O', 'build', '--config', 'Release', '--parallel', jobs, ...generator]);
}
if (!args.has('--native-only')) {
  run(process.execPath, [path.join(root, 'esbuild.mjs'), ...(process.env.ALLOY_PRODUCTION ? ['--production'] : [])]);
}
