// handlers/route_tree.hpp — request paths to routes: literal segments, `{name}` parameters and a
// trailing `{*name}` wildcard, built once at start-up and read-only afterwards.
//
// A lookup walks the path one segment at a time (among a node's literal children — a short
// scan, or one hash when it has many — then its parameter, then its wildcard), so its cost grows
// with the path's length, not with the number of routes. Literal segments win over parameters,
// parameters over the wildcard; when a more specific branch leads nowhere the next one is tried.
// Matching allocates nothing: the parameters found are views into the path.
//
// The walk is a loop; it recurses only at a node where a literal child could lead nowhere and a
// parameter or wildcard would then be tried. A literal child is compared against the path in
// place (its first byte, then the rest and the '/' or end after it), so a segment's end is only
// searched for when a parameter takes it (or when a node has so many literals that they are
// looked up by hash).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "request.hpp"

namespace lake::handlers {

using http::PathParam;

class RouteTree {
  public:
    static constexpr std::size_t kMaxParams = 8;
    static constexpr std::uint32_t kNone = UINT32_MAX;

    struct Match {
        std::uint32_t route = kNone;
        std::size_t param_count = 0;
        // Only the first param_count are set: left unwritten until then (zeroing all eight cost
        // every lookup 256 bytes of stores).
        union {
            PathParam params[kMaxParams];
        };
        Match() noexcept {}
    };

    // Adds `pattern` (e.g. "/users/{id}/posts/{*rest}") for route number `route`. Returns the
    // route already registered for the same pattern (the caller merges methods), `route`
    // itself if the pattern is new, or kNone with `error` set when the pattern is malformed or
    // conflicts with another (the same position named differently).
    std::uint32_t insert(std::string_view pattern, std::uint32_t route, std::string& error);

    // Finds the route for `path` (origin-form, without the query). false when none matches.
    bool find(std::string_view path, Match& out) const noexcept;

  private:
    struct SegmentHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };
    static constexpr std::size_t kScanUpTo = 16;  // literal children looked up by a scan

    // A literal child: its segment is pool[offset, offset + size).
    struct Literal {
        std::uint32_t offset;
        std::uint32_t size;
        std::uint32_t child;
        char first;  // the segment's first byte ('/' for an empty segment)
    };

    struct Node {
        std::vector<Literal> literals;
        std::string pool;  // the literal segments' bytes, one after the other
        // The same children by segment, once there are more than kScanUpTo of them.
        std::unordered_map<std::string, std::uint32_t, SegmentHash, std::equal_to<>> by_segment;
        std::uint32_t param_child = kNone;
        std::string param_name;
        std::uint32_t wildcard_route = kNone;
        std::string wildcard_name;
        std::uint32_t route = kNone;
    };

    bool find_from(std::uint32_t node, const char* at, const char* end, Match& out) const noexcept;
    // The literal child whose segment starts `at` (and ends at `end` or a '/'), and that end.
    static std::uint32_t literal_at(const Node& n, const char* at, const char* end,
                                    const char*& segment_end) noexcept;
    static std::uint32_t literal_child(const Node& n, std::string_view segment) noexcept;
    std::uint32_t child_for_literal(std::uint32_t node, std::string_view segment);

    std::vector<Node> nodes_{Node{}};  // nodes_[0] is the root ("/")
};

}  // namespace lake::handlers
