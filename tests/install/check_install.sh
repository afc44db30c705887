#!/usr/bin/env bash
# Installs the lake library into a scratch prefix and builds a program outside the repository
# against it twice: once through pkg-config, once with Lake as a meson subproject.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# Each file compiled on its own (the test builds are unity builds), without debug information or
# optimisation (what this checks needs neither), and only what is installed: about a minute less.
meson setup "$scratch/build" "$repo" --prefix="$scratch/prefix" --libdir=lib -Dtests=false \
  --buildtype=plain >/dev/null
meson compile -C "$scratch/build" lake-server >/dev/null
meson install -C "$scratch/build" --no-rebuild >/dev/null

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

# Handler plugins built outside the tree against the installed headers, the way a plugin author
# would: the samples include "../../handlers/X.hpp" (their place in the tree), their copies
# include <handlers/X.hpp>. Each is loaded by the installed lake-server and asked one question.
# usage: check_plugin SOURCE PLUGIN-ARG PATH EXPECTED-REPLY
check_plugin() {
  local name; name=$(basename "$1" .cpp)
  sed 's#"../../handlers/\([a-z_]*\.hpp\)"#<handlers/\1>#' "$repo/$1" > "$scratch/$name.cpp"
  # shellcheck disable=SC2046
  c++ -std=c++20 -shared -fPIC "$scratch/$name.cpp" $(pkg-config --cflags lake-server-plugin) \
    -o "$scratch/lib$name.so"
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$scratch/prefix/bin/lake-server" --host 127.0.0.1 --port "$port" --workers 1 \
      --plugin "$scratch/lib$name.so$2" >/dev/null 2>&1 &
  local server=$!
  for _ in $(seq 50); do curl -s "http://127.0.0.1:$port$3" >/dev/null && break; sleep 0.1; done
  local reply; reply=$(curl -s "http://127.0.0.1:$port$3")
  kill "$server"; wait "$server" || true
  [ "$reply" = "$4" ] || { echo "check_install: $name said '$reply'"; exit 1; }
  echo "check_install: $name, built out of tree, on the installed lake-server OK"
}
check_plugin examples/plugins/hello_plugin.cpp :installed /hello "Hello from a plugin, installed!"
check_plugin examples/plugins/api_example.cpp "" /users/7 '{"id":"7"}'
# The conditional-request helpers the static files use, offered to plugins too.
printf '#include <handlers/preconditions.hpp>\n#include <handlers/http_date.hpp>\n' |
  # shellcheck disable=SC2046
  c++ -std=c++20 -fsyntax-only -x c++ - $(pkg-config --cflags lake-server-plugin)
echo "check_install: conditional-request headers compile out of tree OK"

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
