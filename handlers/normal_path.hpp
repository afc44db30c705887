// handlers/normal_path.hpp — a request path as a server that normalizes paths before routing
// reads it (nginx, most frameworks, an upstream behind the proxy): percent-escapes decoded, a
// backslash read as a slash, runs of slashes merged, "." and ".." segments resolved (RFC 3986
// §5.2.4; ".." at the root stays at the root). The router compares before-hook prefixes with it
// too, so that "/api//admin/x" or "/api/%61dmin/x", forwarded under "/api/" to such a server,
// does not get past a hook on "/api/admin/".
#pragma once

#include <string_view>

#include <lake/lake.hpp>

namespace lake::http {

// True when normalizing would change nothing: no '%', no '\', no empty, "." or ".." segment
// (and for what is not a path: "*", or an empty view).
bool is_normal_path(std::string_view path) noexcept;

// The normalized path (always starting with '/'): `path` itself when it is normal, otherwise a
// copy at the start of a block of `path.size() + 1` bytes taken from `arena` (give it back with
// `arena.deallocate(data, path.size() + 1)`); an empty view when the arena has no room.
std::string_view normal_path(std::string_view path, lake::BasicArena& arena) noexcept;

}  // namespace lake::http
