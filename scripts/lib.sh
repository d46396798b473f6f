# Shared by scripts/run and scripts/test: install what is missing, say what is being done, and do
# nothing for what is already there. Sourced, not run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

CARGO_LEPTOS_VERSION="0.3.10"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
export PATH="$HOME/.cargo/bin:$ROOT/node_modules/.bin:$PATH"

say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else die "need root for: $*"; fi
}

APT_UPDATED=""
apt_install() {
  command -v apt-get >/dev/null || die "apt-get not found: install $* with your package manager"
  if [ -z "$APT_UPDATED" ]; then
    say "apt-get update"
    as_root apt-get update -qq
    APT_UPDATED=1
  fi
  say "apt-get install $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

need_rust() {
  command -v cargo >/dev/null || die "cargo not found: install Rust with rustup first"
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  rustup component list --installed | grep -q '^clippy' || rustup component add clippy
  rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt
}

need_cargo_leptos() {
  if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
    say "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 25 minutes on 2 cores, once)"
    cargo install cargo-leptos --locked --version "$CARGO_LEPTOS_VERSION"
  fi
}

# cargo-leptos would download wasm-bindgen from GitHub; it takes the one on PATH instead, which
# must be exactly the version in Cargo.lock.
need_wasm_bindgen() {
  local want
  want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
  [ -n "$want" ] || die "wasm-bindgen is not in Cargo.lock"
  if ! wasm-bindgen --version 2>/dev/null | grep -q " $want\$"; then
    say "installing wasm-bindgen-cli $want (about 4 minutes, once)"
    cargo install wasm-bindgen-cli --version "$want"
  fi
}

need_node() {
  command -v npm >/dev/null || apt_install nodejs npm
}

# Playwright from npm, but never a browser download: the tests use Debian's Chromium.
need_e2e() {
  need_node
  if [ ! -d end2end/node_modules/@playwright/test ] || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
    say "installing the end-to-end test packages (npm ci)"
    (cd end2end && npm ci --no-audit --no-fund)
  fi
  if [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
    apt_install chromium fonts-dejavu-core
  fi
  # The gateway journey runs real nginx (auth_request) in front of a tiny upstream.
  command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || apt_install nginx
}

# The notification tests send mail to a real SMTP server: Debian's aiosmtpd, run by its Python.
need_smtp_server() {
  if ! /usr/bin/python3 -c "import aiosmtpd" >/dev/null 2>&1; then
    apt_install python3-aiosmtpd
  fi
}

need_postgres() {
  if ! command -v initdb >/dev/null && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    apt_install postgresql
  fi
}

build_site() {
  say "building the server and the browser bundle (cargo leptos build $*)"
  cargo leptos build --split "$@"
}

# Where cargo-leptos put the site (JS, wasm, CSS and public assets).
site_root() {
  echo "$ROOT/target/site"
}
