#!/usr/bin/env bash
# Installs what the integration tests (src/tests/integration/run.mjs) and
# `npm start` need on a machine that reaches only Debian's and npm's registries:
#   - Debian: chromium (headless browser for the code-server route); xvfb and
#     the libraries desktop VS Code links (for the @vscode/test-electron route);
#     ripgrep, build tools + libkrb5-dev (code-server compiles native modules on
#     install); fonts.
#   - npm: code-server (it embeds VS Code; 4.100.3 = VS Code 1.100.3, the last
#     release that runs on Node 20) into a cache folder.
# playwright-core is a devDependency of the project, so it is not installed here.
#
# Idempotent: a finished install is recognised by its marker file and reused
# (also the one from the shared installer in ~/.cache/code-server-<version>).
# stdout carries only the code-server binary path, progress goes to stderr:
#   CODE_SERVER_BIN="$(bash scripts/install-vscode-test.sh)"
#
# Environment:
#   ALLOY_CODE_SERVER_VERSION  default 4.100.3
#   ALLOY_VSCODE_TEST_CACHE    default ~/.cache/alloy-vscode-test
#   SKIP_APT=1                 do not check or install Debian packages
set -euo pipefail

VERSION="${ALLOY_CODE_SERVER_VERSION:-4.100.3}"
CACHE_ROOT="${ALLOY_VSCODE_TEST_CACHE:-$HOME/.cache/alloy-vscode-test}"
INSTALL_DIR="$CACHE_ROOT/code-server-$VERSION"
SHARED_INSTALL_DIR="$HOME/.cache/code-server-$VERSION"
MARKER_NAME=".install-complete"

log() { echo "[install-vscode-test $(date +%T)] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

install_debian_packages() {
  local wanted=(build-essential python3 pkg-config libkrb5-dev ripgrep chromium fonts-liberation
    fonts-dejavu-core xvfb xauth libnss3 libgtk-3-0 libgbm1 libasound2 libxss1 libxkbfile1 libsecret-1-0)
  local missing=() p
  for p in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  log "apt: installing ${missing[*]}"
  $sudo apt-get update -qq >&2
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# Prints the binary of a finished install in $1, or fails.
finished_install_bin() {
  [ -f "$1/$MARKER_NAME" ] && [ -x "$1/bin/code-server" ] && echo "$1/bin/code-server"
}

check_node_version() {
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')" || die "node not found"
  case "$VERSION" in
    4.100.*|4.9[0-9].*)
      [ "$major" = 20 ] || die "code-server $VERSION needs Node 20, this is Node $major" ;;
  esac
}

install_code_server() {
  command -v rg >/dev/null || die "rg not found (Debian package ripgrep)"
  check_node_version

  export npm_config_unsafe_perm=true   # code-server's postinstall refuses to run as root without it
  export npm_config_yes=true npm_config_audit=false npm_config_fund=false
  export npm_config_update_notifier=false npm_config_loglevel="${npm_config_loglevel:-warn}"
  # node-gyp builds against the local Node headers instead of downloading them
  if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node.h ]; then
    export npm_config_nodedir=/usr
  fi

  local stage="$INSTALL_DIR.partial" started
  started=$(date +%s)
  rm -rf "$stage"
  mkdir -p "$stage"
  cd "$stage"   # away from any project .npmrc

  # 1) code-server without install scripts: its postinstall runs a nested npm
  #    install whose @vscode/ripgrep postinstall downloads a binary (fails offline).
  log "npm: code-server@$VERSION -> $INSTALL_DIR"
  npm install -g --prefix "$stage" --ignore-scripts "code-server@$VERSION" >&2
  local cs_dir="$stage/lib/node_modules/code-server"
  [ -f "$cs_dir/postinstall.sh" ] || die "unexpected code-server layout: no $cs_dir/postinstall.sh"

  # 2) VS Code's dependencies, unpacked without scripts; Debian's rg goes where
  #    @vscode/ripgrep expects its binary (its postinstall skips the download when
  #    bin/ exists); then the install scripts build node-pty, kerberos, spdlog, ...
  log "npm: VS Code dependencies"
  (cd "$cs_dir/lib/vscode" && npm install --omit=dev --ignore-scripts >&2)
  local rg_dir="$cs_dir/lib/vscode/node_modules/@vscode/ripgrep"
  [ -d "$rg_dir" ] || die "$rg_dir missing"
  mkdir -p "$rg_dir/bin"
  install -m 755 "$(command -v rg)" "$rg_dir/bin/rg"
  log "npm: building VS Code's native modules (a few minutes)"
  (cd "$cs_dir/lib/vscode" && npm rebuild >&2)

  # 3) code-server's own scripts (argon2, postinstall.sh; its npm install in
  #    lib/vscode is a no-op now)
  log "npm: code-server's own dependencies and postinstall"
  (cd "$cs_dir" && npm rebuild >&2)

  # 4) smoke check (--config: otherwise code-server writes one into ~/.config)
  "$stage/bin/code-server" --config "$stage/smoke-config.yaml" --version >&2 || die "code-server does not start"
  rm -f "$stage/smoke-config.yaml"
  [ -x "$rg_dir/bin/rg" ] || die "ripgrep missing after install"

  echo "code-server $VERSION installed $(date -u +%FT%TZ) in $(( $(date +%s) - started ))s" > "$stage/$MARKER_NAME"
  rm -rf "$INSTALL_DIR"
  mv "$stage" "$INSTALL_DIR"
  log "done in $(( $(date +%s) - started ))s"
}

[ "${SKIP_APT:-}" = 1 ] || install_debian_packages

for dir in "$INSTALL_DIR" "$SHARED_INSTALL_DIR"; do
  if bin="$(finished_install_bin "$dir")"; then
    log "code-server $VERSION already installed in $dir"
    echo "$bin"
    exit 0
  fi
done

install_code_server
finished_install_bin "$INSTALL_DIR" || die "install did not finish"
