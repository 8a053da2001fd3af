#!/usr/bin/env bash
# Build CRIU for the platform's snapshot start (`binks up --start snapshot`), from
# Debian's own source package, into .tools/criu/criu. Run by `make criu`; only that
# mode needs it.
#
# Why not the Debian binary: bookworm's criu 3.17.1 fails on kernels that map
# [vvar_vclock] (6.x), and 4.1.1 fails to dump a TCP listening socket on kernels >= 6.16
# (SO_PASSCRED/SO_PASSSEC -> EOPNOTSUPP). 4.2 carries both fixes (upstream PR #2719);
# its Debian source package (forky/sid) builds against bookworm's libraries, while its
# binary package needs a newer libc.
#
# Downloads only from Debian's archive, pinned by SHA-256; needs root for apt-get when
# build dependencies are missing, and root to run (CRIU dumps other processes).
set -euo pipefail

VERSION=4.2.1
REVISION=1
POOL=${CRIU_POOL:-http://deb.debian.org/debian/pool/main/c/criu}
declare -A SHA256=(
  ["criu_${VERSION}-${REVISION}.dsc"]=9286c86e5adfd70b97a68e117c2905d91bf9e31132296e7ebf57066189a2f0b0
  ["criu_${VERSION}.orig.tar.xz"]=29ec0ee09e296479fe7048c80980e8ef1d0684d0b0204c2b101dfea19f6725b9
)
BUILD_DEPS=(pkg-config libbsd-dev libcap-dev libgnutls28-dev libnet1-dev
  libnftables-dev libnl-3-dev libprotobuf-c-dev libprotobuf-dev protobuf-c-compiler
  protobuf-compiler uuid-dev)

root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/.tools/criu
work=$root/.cache/criu-build

if [[ -x $out/criu ]] && "$out/criu" --version | grep -q "Version: $VERSION"; then
  echo "==> CRIU $VERSION: $out/criu (built)"
  exit 0
fi
if [[ $(uname -s) != Linux ]]; then
  echo "error: CRIU runs on Linux only" >&2
  exit 1
fi

missing=()
for package in "${BUILD_DEPS[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if ((${#missing[@]})); then
  if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
    echo "error: CRIU's build needs these Debian packages: ${missing[*]}" >&2
    echo "       install them (as root: apt-get install ${missing[*]}) and run make criu again" >&2
    exit 1
  fi
  echo "==> installing CRIU's build dependencies: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

mkdir -p "$work"
cd "$work"
for file in "${!SHA256[@]}"; do
  if ! echo "${SHA256[$file]}  $file" | sha256sum --check --status 2>/dev/null; then
    echo "==> downloading $file (Debian's source package of criu $VERSION-$REVISION)"
    curl --fail --silent --show-error --location --retry 3 -o "$file.part" "$POOL/$file"
    mv "$file.part" "$file"
  fi
  echo "${SHA256[$file]}  $file" | sha256sum --check --quiet ||
    { echo "error: $file does not match its pinned SHA-256" >&2; exit 1; }
done

# The .dsc (pinned above) names the upstream tarball by SHA-256: check it says the same.
# Its Debian packaging part (debian/, 13 KB: packaging and man pages) is not needed
# for the binary, and Debian's mirrors here do not always serve it.
grep -q " ${SHA256[criu_${VERSION}.orig.tar.xz]} [0-9]* criu_${VERSION}.orig.tar.xz" \
  "criu_${VERSION}-${REVISION}.dsc" ||
  { echo "error: the .dsc does not list criu_${VERSION}.orig.tar.xz with its SHA-256" >&2; exit 1; }
rm -rf "criu-$VERSION"
tar -xJf "criu_${VERSION}.orig.tar.xz"
echo "==> building CRIU $VERSION (make criu, about a minute)"
started=$SECONDS
make -C "criu-$VERSION" -j"$(nproc)" criu >build.log 2>&1 ||
  { tail -30 build.log >&2; echo "error: CRIU's build failed (log: $work/build.log)" >&2; exit 1; }
mkdir -p "$out"
install -m 0755 "criu-$VERSION/criu/criu" "$out/criu"
echo "==> CRIU $VERSION built in $((SECONDS - started)) s: $out/criu"
if [[ $(id -u) == 0 ]]; then
  "$out/criu" check >/dev/null 2>&1 && echo "==> criu check: looks good" ||
    echo "warning: \`$out/criu check\` reports missing kernel features; snapshot start may fail" >&2
fi
