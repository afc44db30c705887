#include "route_tree.hpp"

#include <cstring>
#include <new>

#include "short_compare.hpp"

namespace lake::handlers {

namespace {

// The next segment of `rest` (which starts after a '/'), and what follows its '/'.
std::string_view next_segment(std::string_view rest, std::string_view& after, bool& last) {
    const std::size_t slash = rest.find('/');
    last = slash == std::string_view::npos;
    after = last ? std::string_view() : rest.substr(slash + 1);
    return last ? rest : rest.substr(0, slash);
}

bool valid_name(std::string_view name) {
    if (name.empty()) return false;
    for (char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

}  // namespace

std::uint32_t RouteTree::literal_child(const Node& n, std::string_view segment) noexcept {
    if (n.literals.size() > kScanUpTo) {
        const auto it = n.by_segment.find(segment);
        return it == n.by_segment.end() ? kNone : it->second;
    }
    for (const Literal& l : n.literals)
        if (same_bytes({n.pool.data() + l.offset, l.size}, segment)) return l.child;
    return kNone;
}

[[gnu::always_inline]] inline std::uint32_t RouteTree::literal_at(
    const Node& n, const char* at, const char* end, const char*& segment_end) noexcept {
    const auto left = static_cast<std::size_t>(end - at);
    if (n.literals.size() > kScanUpTo) {
        const auto* slash = static_cast<const char*>(std::memchr(at, '/', left));
        segment_end = slash != nullptr ? slash : end;
        return literal_child(n, {at, static_cast<std::size_t>(segment_end - at)});
    }
    // An empty segment is followed by a '/' or the end: both read as '/' (no literal starts so).
    const char first = left != 0 ? *at : '/';
    const char* pool = n.pool.data();
    for (const Literal& l : n.literals) {
        if (l.first != first || l.size > left) continue;
        const char* e = at + l.size;
        if (e != end && *e != '/') continue;  // the path's segment is longer
        if (!same_bytes(pool + l.offset, at, l.size)) continue;
        segment_end = e;
        return l.child;
    }
    return kNone;
}

std::uint32_t RouteTree::child_for_literal(std::uint32_t node, std::string_view segment) {
    if (const std::uint32_t c = literal_child(nodes_[node], segment); c != kNone) return c;
    const auto child = static_cast<std::uint32_t>(nodes_.size());
    nodes_.emplace_back();  // may move nodes_: look the parent up again
    Node& n = nodes_[node];
    n.literals.push_back(Literal{static_cast<std::uint32_t>(n.pool.size()),
                                 static_cast<std::uint32_t>(segment.size()), child,
                                 segment.empty() ? '/' : segment.front()});
    n.pool.append(segment);
    n.by_segment.emplace(std::string(segment), child);
    return child;
}

std::uint32_t RouteTree::insert(std::string_view pattern, std::uint32_t route, std::string& error) {
    if (pattern.empty() || pattern.front() != '/') {
        error = "a route must start with '/'";
        return kNone;
    }
    std::uint32_t node = 0;
    std::string_view rest = pattern.substr(1);
    std::size_t params = 0;
    if (pattern != "/") {
        for (bool last = false; !last;) {
            std::string_view after;
            const std::string_view seg = next_segment(rest, after, last);
            rest = after;
            if (seg.size() >= 2 && seg.front() == '{' && seg.back() == '}') {
                const bool wildcard = seg[1] == '*';
                const std::string_view name =
                    seg.substr(wildcard ? 2 : 1, seg.size() - (wildcard ? 3 : 2));
                if (!valid_name(name)) {
                    error = "malformed parameter '" + std::string(seg) + "'";
                    return kNone;
                }
                if (++params > kMaxParams) {
                    error = "more than " + std::to_string(kMaxParams) + " parameters";
                    return kNone;
                }
                Node& n = nodes_[node];
                if (wildcard) {
                    if (!last) {
                        error = "'{*" + std::string(name) + "}' must be the last segment";
                        return kNone;
                    }
                    if (n.wildcard_route != kNone) {
                        if (n.wildcard_name != name) {
                            error = "conflicts with '{*" + n.wildcard_name + "}' at the same place";
                            return kNone;
                        }
                        return n.wildcard_route;
                    }
                    n.wildcard_name = std::string(name);
                    n.wildcard_route = route;
                    return route;
                }
                if (n.param_child != kNone) {
                    if (n.param_name != name) {
                        error = "'{" + std::string(name) + "}' conflicts with '{" + n.param_name +
                                "}' at the same place";
                        return kNone;
                    }
                    node = n.param_child;
                } else {
                    const auto child = static_cast<std::uint32_t>(nodes_.size());
                    nodes_.emplace_back();
                    nodes_[node].param_child = child;
                    nodes_[node].param_name = std::string(name);
                    node = child;
                }
                continue;
            }
            if (seg.find_first_of("{}") != std::string_view::npos) {
                error =
                    "malformed segment '" + std::string(seg) + "' (a parameter is a whole segment)";
                return kNone;
            }
            node = child_for_literal(node, seg);
        }
    }
    Node& n = nodes_[node];
    if (n.route != kNone) return n.route;
    n.route = route;
    return route;
}

LAKE_HOT bool RouteTree::find(std::string_view path, Match& out) const noexcept {
    out.route = kNone;
    out.param_count = 0;
    if (path.empty() || path.front() != '/') return false;
    if (path.size() == 1 && nodes_[0].route != kNone) {  // "/" itself (else "/{*all}" takes it)
        out.route = nodes_[0].route;
        return true;
    }
    // A node with one way on (literal segments only, or a parameter only) is followed here:
    // only a node with alternatives to try in turn needs find_from and its larger frame.
    const char* at = path.data() + 1;
    const char* const end = path.data() + path.size();
    std::uint32_t node = 0;
    for (;;) {
        const Node& n = nodes_[node];
        if (n.wildcard_route != kNone || (n.param_child != kNone && !n.literals.empty())) break;
        const char* segment_end = end;
        std::uint32_t next = kNone;
        if (n.param_child == kNone) {
            if (!n.literals.empty()) next = literal_at(n, at, end, segment_end);
        } else if (at != end && *at != '/' && out.param_count < kMaxParams) {
            segment_end = at + 1;
            while (segment_end != end && *segment_end != '/') ++segment_end;
            ::new (&out.params[out.param_count++]) PathParam{
                n.param_name, std::string_view(at, static_cast<std::size_t>(segment_end - at))};
            next = n.param_child;
        }
        if (next != kNone && segment_end == end) out.route = nodes_[next].route;
        if (next == kNone || segment_end == end) {
            if (out.route != kNone) return true;
            out.param_count = 0;
            return false;
        }
        node = next;
        at = segment_end + 1;
    }
    if (find_from(node, at, end, out)) return true;
    out.param_count = 0;
    return false;
}

// Depth-first: literal, then parameter, then wildcard. A branch taken where nothing else could be
// tried is followed in the loop; one with alternatives left is tried by a call, and when it leads
// nowhere the parameters it recorded are taken back.
bool RouteTree::find_from(std::uint32_t node, const char* at, const char* const end,
                          Match& out) const noexcept {
    for (;;) {
        const Node& n = nodes_[node];
        const bool alternatives = n.param_child != kNone || n.wildcard_route != kNone;
        const char* segment_end = end;
        if (const std::uint32_t lit =
                n.literals.empty() ? kNone : literal_at(n, at, end, segment_end);
            lit != kNone) {
            const bool last = segment_end == end;
            if (!alternatives) {
                if (last) {
                    out.route = nodes_[lit].route;
                    return out.route != kNone;
                }
                node = lit;
                at = segment_end + 1;
                continue;
            }
            const std::size_t mark = out.param_count;
            if (last ? nodes_[lit].route != kNone : find_from(lit, segment_end + 1, end, out)) {
                if (last) out.route = nodes_[lit].route;
                return true;
            }
            out.param_count = mark;
        }
        if (n.param_child != kNone && at != end && *at != '/' && out.param_count < kMaxParams) {
            // A parameter's value is short (an id, a name): a byte loop finds its end sooner
            // than a call to memchr.
            segment_end = at + 1;
            while (segment_end != end && *segment_end != '/') ++segment_end;
            const bool last = segment_end == end;
            const std::size_t mark = out.param_count;
            ::new (&out.params[out.param_count++]) PathParam{
                n.param_name, std::string_view(at, static_cast<std::size_t>(segment_end - at))};
            const Node& child = nodes_[n.param_child];
            if (n.wildcard_route == kNone) {
                if (last) {
                    out.route = child.route;
                    return out.route != kNone;
                }
                node = n.param_child;
                at = segment_end + 1;
                continue;
            }
            if (last ? child.route != kNone : find_from(n.param_child, segment_end + 1, end, out)) {
                if (last) out.route = child.route;
                return true;
            }
            out.param_count = mark;
        }
        if (n.wildcard_route != kNone && out.param_count < kMaxParams) {
            ::new (&out.params[out.param_count++]) PathParam{
                n.wildcard_name, std::string_view(at, static_cast<std::size_t>(end - at))};
            out.route = n.wildcard_route;
            return true;
        }
        return false;
    }
}

}  // namespace lake::handlers
