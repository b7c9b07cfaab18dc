#!/usr/bin/env bash
# Builds FerretDB v1.24.2 (the OLD embedded database: SQLite backend) once and caches the binary
# outside the repo. Only `deskbridge db migrate` uses it now, to read a DATA_DIR/sqlite database
# written by an older deskbridge; the embedded database is scripts/install-embedded-db.sh.
#
# FerretDB 1.x generates build/version/version.txt at release time and does not
# ship it in the Go module, so a plain `go install` panics at start; we build from a scratch copy
# of the downloaded module with that file written in.
# Prints the binary's path on stdout; everything else goes to stderr.
set -euo pipefail
VERSION=v1.24.2
CACHE_DIR="${DESKBRIDGE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/deskbridge}"
BIN="${FERRETDB_BIN:-$CACHE_DIR/ferretdb-$VERSION}"

if [ -x "$BIN" ]; then echo "$BIN"; exit 0; fi
# install-embedded-db.sh fetches a Go toolchain into the cache when the machine has none.
if ! command -v go >/dev/null 2>&1 && [ -x "$CACHE_DIR/go-go1.24.6/bin/go" ]; then export PATH="$CACHE_DIR/go-go1.24.6/bin:$PATH"; fi
if ! command -v go >/dev/null 2>&1; then
  echo "deskbridge: FerretDB is not installed and Go is missing: install Go (https://go.dev/dl) or set MONGODB_URI to a MongoDB server" >&2
  exit 127
fi

mkdir -p "$CACHE_DIR"
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
echo "deskbridge: building FerretDB $VERSION (one time, ~2-4 minutes)..." >&2
cd "$work"
dir=$(GOFLAGS=-mod=mod go mod download -json "github.com/FerretDB/FerretDB@$VERSION" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')
[ -n "$dir" ] || { echo "deskbridge: could not download the FerretDB module" >&2; exit 1; }
cp -r "$dir" src && chmod -R u+w src
printf '%s' "$VERSION" > src/build/version/version.txt
(cd src && CGO_ENABLED=0 go build -trimpath -tags ferretdb_no_postgresql -o "$BIN.tmp" ./cmd/ferretdb) >&2 \
  || (cd src && CGO_ENABLED=0 go build -trimpath -o "$BIN.tmp" ./cmd/ferretdb) >&2
mv "$BIN.tmp" "$BIN"
echo "$BIN"
