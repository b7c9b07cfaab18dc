#!/usr/bin/env bash
# Installs the embedded database: FerretDB 2 (MongoDB wire protocol) in front of PostgreSQL 15 with
# the DocumentDB extension. Recipe, figures and the reason for every step:
# ../shared/research/embedded-database.md (in the repo: docs/mongodb-compat.md).
#
# Idempotent and cached by version under ${DESKBRIDGE_CACHE_DIR:-~/.cache/deskbridge}: the first run
# takes ~2 minutes (plus ~25 s of Debian packages), a warm re-run only checks that the packages and
# the installed extension files are still in place. A lock makes concurrent runs (jest + npm start)
# wait for each other instead of building twice.
#
# As root it installs the Debian packages it needs and copies the extensions into PostgreSQL's
# lib/share folders. Otherwise it builds what it can and prints the exact root commands to run.
#
# stdout: KEY=VALUE lines (FERRETDB_BIN, PG_BINDIR) for src/store/embedded.ts; progress goes to stderr.
# Exit codes: 0 ready, 3 a root step is needed (the commands are printed), other = build failure.
#
# Sources. Taken from $DESKBRIDGE_VENDOR_DIR (default: ../shared/vendor next to the checkout) when
# present, checked against the sha256 sums below (a mismatch stops the install). Otherwise fetched
# from upstream with git at these refs:
#   DocumentDB  https://github.com/FerretDB/documentdb       tag v0.106.0-ferretdb-2.5.0 (commit beb9d25d98…)
#   libbson     https://github.com/mongodb/mongo-c-driver    tag 1.28.0
#   pg_cron     https://github.com/citusdata/pg_cron         tag v1.6.3
#   pgvector    https://github.com/pgvector/pgvector         tag v0.8.0
#   FerretDB    Go module proxy: github.com/FerretDB/FerretDB/v2@v2.5.0, built with go1.24.6
#               (its go.mod toolchain; v2.5.0 does not compile with Go >= 1.25)
set -euo pipefail

PG_MAJOR=15
DOCUMENTDB_TAG=v0.106.0-ferretdb-2.5.0
DOCUMENTDB_COMMIT=beb9d25d9845477c85559d3293cd1f929cdf2b9c
LIBBSON_VERSION=1.28.0
PG_CRON_VERSION=1.6.3
PGVECTOR_VERSION=0.8.0
FERRETDB_VERSION=v2.5.0
GO_TOOLCHAIN=go1.24.6
# Bump when the build steps change, so old caches are not reused.
RECIPE=1

declare -A VENDOR_SHA256=(
  [documentdb-v0.106.0-ferretdb-2.5.0.bundle]=11e6a76dd3f308c207e4c014e39601001dcdfc78b717a883f616f3e54e45922d
  [mongo-c-driver-1.28.0-libbson.tar.gz]=80b0ab85512e19f0f0f740868f06838c1c578c45a720fd44ed80af19246e964f
  [pg_cron-1.6.3.tar.gz]=105b669241ea200f0e9a5ffbc2c4e8c33b0dfaba2b13e06cdb4621382b7995d5
  [pgvector-0.8.0.tar.gz]=f735d37c1f8a32a0c46f29db63860bdc1ed06a423d4280767afbd38f1fe58778
)
# The Go toolchain module zip from the proxy, used only when no Go >= 1.21 is installed (amd64).
GO_TOOLCHAIN_ZIP_SHA256=e7f0fd16d1b06c716162a0938744bb7ebf7edbc3248d42432271a1b5c1fde1ce

# Debian 12 packages: PostgreSQL and its build headers (libkrb5-dev: libpq-be.h includes gssapi),
# DocumentDB's libraries (PCRE2, Intel decimal math) and required extensions (RUM, PostGIS).
APT_PACKAGES=(postgresql-$PG_MAJOR postgresql-server-dev-$PG_MAJOR libkrb5-dev libpcre2-dev libintelrdfpmath-dev
  postgresql-$PG_MAJOR-rum postgresql-$PG_MAJOR-postgis-3 cmake pkg-config build-essential git curl unzip)
# Debian's pg_cron 1.4.2 rejects DocumentDB's second-granularity schedules and would overwrite ours.
APT_CONFLICTS=(postgresql-$PG_MAJOR-cron)

here=$(cd "$(dirname "$0")" && pwd)
CACHE_ROOT="${DESKBRIDGE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/deskbridge}"
VENDOR_DIR="${DESKBRIDGE_VENDOR_DIR:-$here/../../shared/vendor}"
KEY="pg$PG_MAJOR-documentdb-${DOCUMENTDB_TAG#v}-r$RECIPE"
C="$CACHE_ROOT/embedded-$KEY"
FERRETDB_BIN="$CACHE_ROOT/ferretdb-$FERRETDB_VERSION"
PG_CONFIG=/usr/lib/postgresql/$PG_MAJOR/bin/pg_config
PG_BINDIR=/usr/lib/postgresql/$PG_MAJOR/bin
JOBS=$(nproc 2>/dev/null || echo 2)

say() { echo "deskbridge db install: $*" >&2; }
die() { say "$*"; exit 1; }
# step NAME CMD...: runs CMD, prints one line with the seconds it took.
step() {
  local name=$1; shift
  local t0=$SECONDS
  say "$name..."
  "$@"
  say "$name done ($((SECONDS - t0)) s)"
}
is_root() { [ "$(id -u)" = 0 ]; }

mkdir -p "$CACHE_ROOT"
exec 9>"$CACHE_ROOT/.install-embedded-db.lock"
if ! flock -n 9; then
  say "another install is running; waiting for it"
  flock 9
fi

# --- 1. Debian packages -------------------------------------------------------------------------
installed_set() { dpkg-query -W -f='${Package} ${Status}\n' "$@" 2>/dev/null | awk '/install ok installed$/ {print $1}'; }
missing_packages() { comm -23 <(printf '%s\n' "${APT_PACKAGES[@]}" | sort) <(installed_set "${APT_PACKAGES[@]}" | sort); }
present_conflicts() { installed_set "${APT_CONFLICTS[@]}"; }
apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  # A fresh machine has empty package lists; refresh them once, and again if an install fails on stale lists.
  if [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v -e lock -e partial)" ]; then apt-get -o DPkg::Lock::Timeout=600 update -qq >&2; fi
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq "$@" >&2 || { apt-get -o DPkg::Lock::Timeout=600 update -qq >&2 && apt-get -o DPkg::Lock::Timeout=600 install -y -qq "$@" >&2; }
}
if ! command -v dpkg-query >/dev/null 2>&1; then
  die "this installer needs Debian 12 (apt/dpkg). Elsewhere, set MONGODB_URI to a MongoDB or FerretDB server (see docker-compose*.yml)."
fi
mapfile -t missing < <(missing_packages)
mapfile -t conflicts < <(present_conflicts)
if [ ${#missing[@]} -gt 0 ] || [ ${#conflicts[@]} -gt 0 ]; then
  if is_root; then
    [ ${#conflicts[@]} -eq 0 ] || step "removing ${conflicts[*]} (too old for DocumentDB)" apt-get -o DPkg::Lock::Timeout=600 remove -y -qq "${conflicts[@]}" >&2
    [ ${#missing[@]} -eq 0 ] || step "apt-get install ${missing[*]} (about 315 MB on a fresh Debian 12)" apt_install "${missing[@]}"
  else
    say "the embedded database needs Debian packages that only root can install. Run:"
    [ ${#conflicts[@]} -eq 0 ] || echo "  sudo apt-get remove -y ${conflicts[*]}" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    say "then start again (or set MONGODB_URI to a MongoDB server instead)."
    exit 3
  fi
fi

# --- 2. Go (only to build FerretDB once) -----------------------------------------------------------
go_ok() { # Go >= 1.21 understands GOTOOLCHAIN and fetches go1.24.6 from the module proxy itself.
  command -v go >/dev/null 2>&1 || return 1
  local v; v=$(go env GOVERSION 2>/dev/null | sed 's/^go//') || return 1
  local major=${v%%.*} rest=${v#*.}; local minor=${rest%%.*}
  [ "${major:-0}" -gt 1 ] || [ "${minor:-0}" -ge 21 ]
}
bootstrap_go() {
  [ "$(uname -m)" = x86_64 ] || die "FerretDB is built with Go: install Go >= 1.21 (https://go.dev/dl) and run again"
  local dir="$CACHE_ROOT/go-$GO_TOOLCHAIN" zip
  if [ ! -x "$dir/bin/go" ]; then
    zip=$(mktemp)
    curl -fsSL "https://proxy.golang.org/golang.org/toolchain/@v/v0.0.1-$GO_TOOLCHAIN.linux-amd64.zip" -o "$zip"
    echo "$GO_TOOLCHAIN_ZIP_SHA256  $zip" | sha256sum -c --quiet - || die "the Go toolchain download does not match its checksum"
    rm -rf "$dir.tmp" && mkdir -p "$dir.tmp" && unzip -q "$zip" -d "$dir.tmp" && rm -f "$zip"
    mv "$dir.tmp/golang.org/toolchain@v0.0.1-$GO_TOOLCHAIN.linux-amd64" "$dir" && rm -rf "$dir.tmp"
    chmod +x "$dir/bin/"* "$dir/pkg/tool/"*/* 2>/dev/null || true
  fi
  export PATH="$dir/bin:$PATH"
}

# --- 3. Sources ----------------------------------------------------------------------------------
# fetch_source NAME VENDOR_FILE GIT_URL GIT_REF DEST: unpacks the vendored, checksummed copy, else clones upstream.
fetch_source() {
  local name=$1 file=$2 url=$3 ref=$4 dest=$5
  rm -rf "$dest"
  if [ -f "$VENDOR_DIR/$file" ]; then
    local want=${VENDOR_SHA256[$file]} got
    got=$(sha256sum "$VENDOR_DIR/$file" | cut -d' ' -f1)
    [ "$got" = "$want" ] || die "$VENDOR_DIR/$file: sha256 $got, expected $want; refusing to build from it"
    case $file in
      *.bundle) git clone -q "$VENDOR_DIR/$file" "$dest" 2>/dev/null || true ;;
      *) mkdir -p "$dest" && tar xzf "$VENDOR_DIR/$file" -C "$dest" --strip-components=1 ;;
    esac
  else
    say "$name: no vendored copy in $VENDOR_DIR; cloning $url at $ref"
    git -c advice.detachedHead=false clone -q --depth 1 --branch "$ref" "$url" "$dest" >&2
  fi
}

build_libbson() {
  fetch_source libbson mongo-c-driver-1.28.0-libbson.tar.gz https://github.com/mongodb/mongo-c-driver.git \
    "$LIBBSON_VERSION" "$C/src/libbson"
  rm -rf "$C/libbson" "$C/src/libbson/_build"
  (cd "$C/src/libbson" && cmake -S . -B _build -DCMAKE_BUILD_TYPE=Release -DENABLE_MONGOC=OFF -DENABLE_STATIC=ON \
      -DENABLE_SHARED=OFF -DENABLE_TESTS=OFF -DENABLE_EXAMPLES=OFF -DENABLE_UNINSTALL=OFF \
      -DBUILD_VERSION="$LIBBSON_VERSION" -DCMAKE_C_FLAGS=-fPIC -DCMAKE_INSTALL_PREFIX="$C/libbson" \
      -DCMAKE_INSTALL_LIBDIR=lib >/dev/null \
    && cmake --build _build -j"$JOBS" >/dev/null && cmake --install _build >/dev/null)
  # DocumentDB asks pkg-config for intelmathlib; Debian's libbidgcc000.a is the PIC,
  # CALL_BY_REF=0 GLOBAL_RND=0 GLOBAL_FLAGS=0 variant upstream builds, so describe it.
  mkdir -p "$C/pkgconfig"
  cat >"$C/pkgconfig/intelmathlib.pc" <<EOF
prefix=/usr
libdir=/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
includedir=/usr/include

Name: intelmathlib
Description: Intel Decimal Floating point math library (Debian libintelrdfpmath-dev)
Version: 2.0 Update 2
Cflags: -I\${includedir}
Libs: -L\${libdir} -l:libbidgcc000.a
EOF
}

# pgxs_stage NAME DIR [MAKE ARGS]: builds a PGXS extension and installs it into $C/stage-NAME.
pgxs_stage() {
  local name=$1 dir=$2; shift 2
  rm -rf "$C/stage-$name.tmp"
  make -C "$dir" -j"$JOBS" PG_CONFIG="$PG_CONFIG" with_llvm=no "$@" >/dev/null
  make -C "$dir" install PG_CONFIG="$PG_CONFIG" with_llvm=no DESTDIR="$C/stage-$name.tmp" "$@" >/dev/null
  rm -rf "$C/stage-$name" && mv "$C/stage-$name.tmp" "$C/stage-$name"
}

build_pg_cron() {
  fetch_source pg_cron pg_cron-1.6.3.tar.gz https://github.com/citusdata/pg_cron.git "v$PG_CRON_VERSION" "$C/src/pg_cron"
  pgxs_stage pg_cron "$C/src/pg_cron"
}

build_pgvector() {
  fetch_source pgvector pgvector-0.8.0.tar.gz https://github.com/pgvector/pgvector.git "v$PGVECTOR_VERSION" "$C/src/pgvector"
  # OPTFLAGS= : no -march=native, so the cache works on any x86-64 machine it is copied to.
  pgxs_stage pgvector "$C/src/pgvector" OPTFLAGS=
}

build_documentdb() {
  # A git checkout, not an archive: the build embeds the commit in the version string FerretDB checks.
  fetch_source DocumentDB documentdb-v0.106.0-ferretdb-2.5.0.bundle https://github.com/FerretDB/documentdb.git \
    "$DOCUMENTDB_TAG" "$C/src/documentdb"
  [ "$(git -C "$C/src/documentdb" rev-parse HEAD)" = "$DOCUMENTDB_COMMIT" ] \
    || die "DocumentDB checkout is not at $DOCUMENTDB_COMMIT"
  export PKG_CONFIG_PATH="$C/libbson/lib/pkgconfig:$C/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
  rm -rf "$C/stage-documentdb.tmp"
  local sub
  for sub in pg_documentdb_core pg_documentdb; do
    make -C "$C/src/documentdb/$sub" -j"$JOBS" PG_CONFIG="$PG_CONFIG" with_llvm=no >/dev/null
    make -C "$C/src/documentdb/$sub" install PG_CONFIG="$PG_CONFIG" with_llvm=no DESTDIR="$C/stage-documentdb.tmp" >/dev/null
  done
  rm -rf "$C/stage-documentdb" && mv "$C/stage-documentdb.tmp" "$C/stage-documentdb"
}

build_ferretdb() {
  go_ok || bootstrap_go
  local work dir
  work=$(mktemp -d)
  export GOTOOLCHAIN=$GO_TOOLCHAIN GOFLAGS=-mod=mod CGO_ENABLED=0 GOAMD64=v1
  dir=$(cd "$work" && go mod download -json "github.com/FerretDB/FerretDB/v2@$FERRETDB_VERSION" \
    | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')
  [ -n "$dir" ] || die "could not download github.com/FerretDB/FerretDB/v2@$FERRETDB_VERSION from the Go module proxy"
  cp -r "$dir" "$work/src" && chmod -R u+w "$work/src"
  # Release builds write version.txt; the module does not ship it.
  printf '%s' "$FERRETDB_VERSION" >"$work/src/build/version/version.txt"
  (cd "$work/src" && go build -trimpath -o "$FERRETDB_BIN.tmp" ./cmd/ferretdb) >&2
  rm -rf "$work"
  mv "$FERRETDB_BIN.tmp" "$FERRETDB_BIN"
}

# --- 4. Build (each step once per version) ---------------------------------------------------------
mkdir -p "$C/src"
done_mark() { [ -f "$C/.done-$1" ]; }
run_once() {
  local id=$1; shift
  done_mark "$id" && return 0
  step "$@"
  touch "$C/.done-$id"
}
run_once libbson "building libbson $LIBBSON_VERSION (static, -fPIC)" build_libbson
run_once pg_cron "building pg_cron $PG_CRON_VERSION" build_pg_cron
run_once pgvector "building pgvector $PGVECTOR_VERSION" build_pgvector
run_once documentdb "building DocumentDB ${DOCUMENTDB_TAG#v}" build_documentdb
if [ ! -x "$FERRETDB_BIN" ]; then
  step "building FerretDB $FERRETDB_VERSION (Go module proxy, $GO_TOOLCHAIN)" build_ferretdb
fi
rm -rf "$C/src" # sources are only needed to build; the staged trees are the cache

# --- 5. Install the extensions into PostgreSQL's folders ----------------------------------------------
# Only the files PostgreSQL loads (lib/*.so, extension/*); headers stay in the stage. The manifest
# holds their sha256 at the installed paths, so the warm check is one sha256sum run.
MANIFEST="$C/installed.sha256"
if [ ! -f "$MANIFEST" ]; then
  for s in pg_cron pgvector documentdb; do
    (cd "$C/stage-$s" && find . -type f \( -path "*/lib/*" -o -path "*/extension/*" \) ! -path "*/bitcode/*" -print0 \
      | xargs -0 sha256sum | sed "s|  \./|  /|")
  done >"$MANIFEST.tmp"
  mv "$MANIFEST.tmp" "$MANIFEST"
fi
if ! sha256sum -c --quiet --status "$MANIFEST" 2>/dev/null; then
  if is_root; then
    install_files() {
      local sum f s
      while read -r sum f; do
        echo "$sum  $f" | sha256sum -c --quiet --status 2>/dev/null && continue
        for s in pg_cron pgvector documentdb; do
          [ -f "$C/stage-$s$f" ] && install -D -m "$(stat -c %a "$C/stage-$s$f")" "$C/stage-$s$f" "$f"
        done
      done <"$MANIFEST"
      sha256sum -c --quiet "$MANIFEST" >&2
    }
    step "installing the extensions into $($PG_CONFIG --pkglibdir) and $($PG_CONFIG --sharedir)/extension" install_files
  else
    say "the extensions are built; copying them into PostgreSQL's folders needs root. Run:"
    echo "  sudo DESKBRIDGE_CACHE_DIR='$CACHE_ROOT' bash '$here/install-embedded-db.sh'" >&2
    say "then start again (or set MONGODB_URI to a MongoDB server instead)."
    exit 3
  fi
fi

echo "FERRETDB_BIN=$FERRETDB_BIN"
echo "PG_BINDIR=$PG_BINDIR"
echo "ENGINE_CACHE_DIR=$C"
