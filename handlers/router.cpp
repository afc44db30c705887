#include "router.hpp"

#include <bit>
#include <span>
#include <string_view>
#include <vector>

#include "normal_path.hpp"
#include "short_compare.hpp"

namespace lake::handlers {

namespace {
constexpr const char* kMethodNames[] = {"GET",    "HEAD",    "POST",  "PUT",
                                        "DELETE", "OPTIONS", "PATCH", "TRACE"};
int index_of(http::Method m) { return static_cast<int>(m); }

// Every path a pattern matches starts with its literal start ("/users/" of "/users/{id}"): a
// hook whose prefix that start begins with meets them all, one whose prefix begins with that
// start may meet some, any other none.
void classify(std::string_view pattern, std::span<const std::string_view> prefixes,
              std::uint64_t& always, std::uint64_t& maybe) {
    const std::string_view start = pattern.substr(0, pattern.find('{'));
    always = maybe = 0;
    for (std::size_t i = 0; i < prefixes.size(); ++i) {
        if (start.starts_with(prefixes[i]))
            always |= std::uint64_t{1} << i;
        else if (prefixes[i].starts_with(start))
            maybe |= std::uint64_t{1} << i;
    }
}

// Whether a before-hook's prefix covers the request's path as a server that normalizes paths
// reads it (normal_path.hpp), when it does not cover it as sent. A route's handler may pass the
// path on to one (the proxy does), and "/api//admin/x" must not get past a hook on "/api/admin/"
// there. Out of line and cold: only a path under a route whose pattern leaves the hook open and
// that misses its prefix as sent comes here, and nearly every path is normal. The normalized copy
// is given back to the request arena at once; with no room for it, the hook runs (the side that
// refuses).
[[gnu::cold, gnu::noinline]] bool covers_when_normalized(const http::Request& request,
                                                         std::string_view prefix) noexcept {
    if (http::is_normal_path(request.path)) return false;
    if (request.arena == nullptr) return true;
    const std::string_view normal = http::normal_path(request.path, *request.arena);
    if (normal.empty()) return true;
    const bool covered = starts_with_bytes(normal, prefix);
    request.arena->deallocate(const_cast<char*>(normal.data()), request.path.size() + 1);
    return covered;
}

bool covers(const http::Request& request, std::string_view prefix) noexcept {
    return starts_with_bytes(request.path, prefix) || covers_when_normalized(request, prefix);
}

void text(http::Response& r, int status, std::string_view body) {
    r.status = status;
    r.content_type = "text/plain; charset=utf-8";
    r.body = body;
}
}  // namespace

void Router::add(http::Method method, std::string path, Handler handler) {
    auto refuse = [&](const std::string& why) {
        if (error_.empty()) error_ = "route '" + path + "': " + why;
    };
    if (method == http::Method::Other) return refuse("no such method");
    std::string err;
    const std::uint32_t index = tree_.insert(path, static_cast<std::uint32_t>(routes_.size()), err);
    if (index == RouteTree::kNone) return refuse(err);
    if (index == routes_.size()) {
        routes_.push_back(Route{});
        routes_.back().path = path;
    }
    Route& route = routes_[index];
    Handler& slot = route.by_method[index_of(method)];
    const bool implicit_head = method == http::Method::Head && route.head_from_get;
    if (!slot.empty() && !implicit_head)
        return refuse(std::string(kMethodNames[index_of(method)]) + " is already registered" +
                      (route.path != path ? " as '" + route.path + "'" : std::string()));
    slot = handler;
    any_streaming_ = any_streaming_ || handler.streams_body;
    if (method == http::Method::Head) route.head_from_get = false;
    Handler& head = route.by_method[index_of(http::Method::Head)];
    if (method == http::Method::Get && head.empty()) {
        head = handler;
        route.head_from_get = true;
    }
    rebuild_allow(route);
    classify_hooks();
}

void Router::classify_hooks() {
    hook_masks_ = before_.size() <= 64 && after_.size() <= 64;
    if (!hook_masks_) return;
    std::vector<std::string_view> before, after;
    for (const PrefixHook& h : before_) before.push_back(h.prefix);
    for (const PrefixHook& h : after_) after.push_back(h.prefix);
    for (Route& r : routes_) {
        classify(r.path, before, r.before_always, r.before_maybe);
        classify(r.path, after, r.after_always, r.after_maybe);
    }
}

void Router::add_before(std::string prefix, Hook hook) {
    if (hook.fn == nullptr || prefix.empty() || prefix.front() != '/') {
        if (error_.empty()) error_ = "before-hook on '" + prefix + "': needs a function and a path";
        return;
    }
    before_.push_back({std::move(prefix), hook});
    classify_hooks();
}

void Router::add_after(std::string prefix, Hook hook) {
    if (hook.fn == nullptr || prefix.empty() || prefix.front() != '/') {
        if (error_.empty()) error_ = "after-hook on '" + prefix + "': needs a function and a path";
        return;
    }
    after_.push_back({std::move(prefix), hook});
    classify_hooks();
}

std::string Router::take_error() {
    std::string e = std::move(error_);
    error_.clear();
    return e;
}

void Router::rebuild_allow(Route& route) {
    route.allow.clear();
    for (int m = 0; m < index_of(http::Method::Other); ++m) {
        if (route.by_method[m].empty() && m != index_of(http::Method::Options)) continue;
        if (!route.allow.empty()) route.allow += ", ";
        route.allow += kMethodNames[m];
    }
}

LAKE_HOT Task Router::dispatch(http::Request& request, http::Response& response) const noexcept {
    if (request.method == http::Method::Other) {
        text(response, 501, "Not Implemented\n");
        return {};
    }
    if (request.path == "*") {  // OPTIONS * : what the server as a whole supports
        response.status = 204;
        response.add_header("Allow", "GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH");
        return {};
    }
    RouteTree::Match match;
    const Route* route = tree_.find(request.path, match) ? &routes_[match.route] : nullptr;
    // The hooks and a handler that answers at once read the parameters where the look-up left
    // them, in this frame; they are taken from the request when it returns. Only a waiting
    // handler, which outlives this call, gets them copied into the request arena (below).
    request.params = {match.params, match.param_count};
    struct ParamsOfThisFrame {
        http::Request* request;
        ~ParamsOfThisFrame() {
            if (request != nullptr) request->params = {};
        }
    } frame_params{&request};
    try {
        // Before-hooks guard everything under their prefix, routed or not: an unknown path
        // under /admin/ is refused like a known one, not told apart by a 404.
        if (route != nullptr && hook_masks_) {
            // In the order they were added; only the prefixes the route leaves open compared.
            for (std::uint64_t m = route->before_always | route->before_maybe; m != 0; m &= m - 1) {
                const int i = std::countr_zero(m);
                const PrefixHook& b = before_[static_cast<std::size_t>(i)];
                if ((route->before_always >> i & 1) == 0 && !covers(request, b.prefix)) continue;
                if (b.hook.fn(request, response, b.hook.context)) {
                    run_after_hooks(request, response, route);
                    return {};
                }
            }
        } else {
            for (const PrefixHook& b : before_) {
                if (!covers(request, b.prefix)) continue;
                if (b.hook.fn(request, response, b.hook.context)) {
                    run_after_hooks(request, response);
                    return {};
                }
            }
        }
        if (route == nullptr) {
            text(response, 404, "Not Found\n");
            return {};
        }
        const Handler& h = route->by_method[index_of(request.method)];
        if (h.empty()) {
            if (request.method == http::Method::Options) {
                response.status = 204;
            } else {
                text(response, 405, "Method Not Allowed\n");
            }
            response.add_header("Allow", route->allow);
            return {};
        }
        if (h.waiting_fn != nullptr) {
            // The parameters and the frame come from the request arena: no room there is 503,
            // like any other full arena. (The engine points frame_arena() at it again for each
            // resumption.)
            if (match.param_count != 0) {
                lake::Slice<http::PathParam> params =
                    request.arena != nullptr
                        ? request.arena->alloc_slice<http::PathParam>(match.param_count)
                        : lake::Slice<http::PathParam>();
                if (!params) {
                    text(response, 503, "Service Unavailable\n");
                    return {};
                }
                for (std::size_t i = 0; i < match.param_count; ++i) params[i] = match.params[i];
                request.params = params.span();
                frame_params.request = nullptr;
            }
            FrameArenaScope frames(request.arena);
            Task task = h.waiting_fn(request, response, h.context);
            if (!task) text(response, 503, "Service Unavailable\n");
            return task;
        }
        h.fn(request, response, h.context);
        // A route no after-hook covers (the common case) costs no call.
        if (!hook_masks_ || (route->after_always | route->after_maybe) != 0)
            run_after_hooks(request, response, route);
    } catch (...) {
        response.reset();
        text(response, 500, "Internal Server Error\n");
    }
    return {};
}

bool Router::streams_body(const http::Request& request) const noexcept {
    if (!any_streaming_ || request.method == http::Method::Other) return false;
    RouteTree::Match match;
    return tree_.find(request.path, match) &&
           routes_[match.route].by_method[index_of(request.method)].streams_body;
}

void Router::finish(const http::Request& request, http::Response& response) const noexcept {
    try {
        run_after_hooks(request, response);
    } catch (...) {
        response.reset();
        text(response, 500, "Internal Server Error\n");
    }
}

// In line where it is called: after nearly every handler of a plugin with hooks, and a call
// of its own cost it more than its loop.
[[gnu::always_inline]] inline void Router::run_after_hooks(const http::Request& request,
                                                           http::Response& response,
                                                           const Route* route) const {
    if (route != nullptr && hook_masks_) {
        for (std::uint64_t m = route->after_always | route->after_maybe; m != 0; m &= m - 1) {
            const int i = std::countr_zero(m);
            const PrefixHook& a = after_[static_cast<std::size_t>(i)];
            if ((route->after_always >> i & 1) != 0 || starts_with_bytes(request.path, a.prefix))
                (void)a.hook.fn(request, response, a.hook.context);
        }
        return;
    }
    for (const PrefixHook& a : after_)
        if (starts_with_bytes(request.path, a.prefix))
            (void)a.hook.fn(request, response, a.hook.context);
}

}  // namespace lake::handlers
