#!/usr/bin/env bash
# Installs the lake library into a scratch prefix and builds a program outside the repository
# against it twice: once through pkg-config, once with Lake as a meson subproject.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

meson setup "$scratch/build" "$repo" --prefix="$scratch/prefix" --libdir=lib -Dtests=false >/dev/null
meson install -C "$scratch/build" >/dev/null

cat > "$scratch/consumer.cpp" <<'CPP'
#include <lake/lake.hpp>
int main() {
    lake::Lake lake(4096);
    auto d = lake.alloc<64>();
    if (!d || lake.used() != 64) return 1;
    lake.reset();
    return d.is_valid() ? 1 : 0;
}
CPP
export PKG_CONFIG_PATH="$scratch/prefix/lib/pkgconfig"
# shellcheck disable=SC2046
c++ "$scratch/consumer.cpp" $(pkg-config --cflags --libs lake) -o "$scratch/consumer"
"$scratch/consumer"
echo "check_install: pkg-config consumer OK ($(pkg-config --modversion lake))"

# A handler plugin built outside the tree against the installed headers, loaded by the installed
# lake-server.
# The sample includes "../../handlers/plugin.hpp" (its place in the tree); a copy includes the
# installed header the way a plugin author would, so only installed headers are used.
sed 's#"../../handlers/plugin.hpp"#<handlers/plugin.hpp>#' "$repo/examples/plugins/hello_plugin.cpp" \
  > "$scratch/hello_plugin.cpp"
# shellcheck disable=SC2046
c++ -shared "$scratch/hello_plugin.cpp" $(pkg-config --cflags lake-server-plugin) \
  -o "$scratch/libhello.so"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$scratch/prefix/bin/lake-server" --host 127.0.0.1 --port "$port" --workers 1 \
    --plugin "$scratch/libhello.so:installed" >/dev/null 2>&1 &
server=$!
for _ in $(seq 50); do curl -s "http://127.0.0.1:$port/hello" >/dev/null && break; sleep 0.1; done
reply=$(curl -s "http://127.0.0.1:$port/hello")
kill "$server"; wait "$server" || true
[ "$reply" = "Hello from a plugin, installed!" ] || { echo "check_install: plugin said '$reply'"; exit 1; }
echo "check_install: out-of-tree plugin on the installed lake-server OK"

# The README's example plugin, built the way its "Write a handler plugin" section says.
sed 's#"../../handlers/\([a-z_]*\.hpp\)"#<handlers/\1>#' "$repo/examples/plugins/api_example.cpp" \
  > "$scratch/api_example.cpp"
# shellcheck disable=SC2046
c++ -std=c++20 -shared -fPIC "$scratch/api_example.cpp" $(pkg-config --cflags lake-server-plugin) \
  -o "$scratch/libapi_example.so"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$scratch/prefix/bin/lake-server" --host 127.0.0.1 --port "$port" --workers 1 \
    --plugin "$scratch/libapi_example.so" >/dev/null 2>&1 &
server=$!
for _ in $(seq 50); do curl -s "http://127.0.0.1:$port/users/7" >/dev/null && break; sleep 0.1; done
reply=$(curl -s "http://127.0.0.1:$port/users/7")
kill "$server"; wait "$server" || true
[ "$reply" = '{"id":"7"}' ] || { echo "check_install: api_example said '$reply'"; exit 1; }
echo "check_install: the README's api_example plugin, built out of tree, OK"

mkdir -p "$scratch/sub/subprojects"
ln -s "$repo" "$scratch/sub/subprojects/lake"
cp "$scratch/consumer.cpp" "$scratch/sub/"
cat > "$scratch/sub/meson.build" <<'MESON'
project('consumer', 'cpp', default_options : ['cpp_std=c++20'])
lake_dep = dependency('lake', fallback : ['lake', 'lake_dep'])
executable('consumer', 'consumer.cpp', dependencies : lake_dep)
MESON
env -u PKG_CONFIG_PATH meson setup "$scratch/sub/build" "$scratch/sub" --wrap-mode=forcefallback >/dev/null
meson compile -C "$scratch/sub/build" >/dev/null
"$scratch/sub/build/consumer"
echo "check_install: meson subproject consumer OK"
