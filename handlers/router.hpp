// handlers/router.hpp — routing by path pattern and method, built at start-up, read-only
// afterwards.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "handler.hpp"
#include "lifecycle.hpp"
#include "route_tree.hpp"

namespace lake::handlers {

class Router {
  public:
    // Registers `handler` for `method` on `path`: an exact path ("/plaintext"), parameters
    // ("/users/{id}", several per path, read with request.param("id")) and a trailing
    // wildcard ("/files/{*rest}"). Literal segments win over parameters, parameters over a
    // wildcard. GET also answers HEAD unless HEAD is registered itself. A malformed route, or one
    // that conflicts with an earlier one (the same method twice, one place named two ways), is
    // not added: take_error() says why.
    void add(http::Method method, std::string path, Handler handler);

    // Middleware on every path that starts with `prefix` ("/admin/"): before-hooks run in the
    // order they were added, before routing decides (so they guard unknown paths under the
    // prefix too); after-hooks run in the order they were added, after the handler or an early
    // answer (not after the router's own 404/405/OPTIONS answers). Both see the request's path
    // parameters when a route matched.
    void add_before(std::string prefix, Hook hook);
    void add_after(std::string prefix, Hook hook);

    // The first problem add() met since the last call ("route '/a/{x': malformed ..."), or an
    // empty string. Checked at start-up after the built-ins and after each plugin.
    std::string take_error();

    // Fills `response`: the handler's answer, 404 for an unknown path, 405 with `Allow` for a
    // known path and another method, 204 with `Allow` for OPTIONS, 501 for methods not
    // implemented here. Sets request.params while it runs (for a waiting handler: in the request
    // arena, for as long as the request). Exceptions from handlers become 500. For a waiting
    // handler it returns its Task, not yet started: the engine runs it and, once it returns
    // without having sent part of its response, calls finish().
    Task dispatch(http::Request& request, http::Response& response) const noexcept;
    // Whether the handler `request` will reach reads its body as it arrives (Handler::streaming):
    // asked once its headers are in.
    bool streams_body(const http::Request& request) const noexcept;
    // The after-hooks of a waiting handler's response.
    void finish(const http::Request& request, http::Response& response) const noexcept;

    // The plugins' per-worker and shutdown hooks (PluginHost adds them), run by the server.
    Lifecycle& lifecycle() noexcept { return lifecycle_; }
    const Lifecycle& lifecycle() const noexcept { return lifecycle_; }

  private:
    struct Route {
        std::string path;
        Handler by_method[static_cast<int>(http::Method::Other)] = {};
        bool head_from_get = false;  // HEAD answered by the GET handler
        std::string allow;           // "GET, HEAD, OPTIONS"
        // Which hooks (bit i: hook i) every path of this route meets, and which it may meet
        // (the literal start of its pattern does not decide: the path is compared per request).
        // Worked out at start-up, so that a request compares no prefix its route already settles.
        std::uint64_t before_always = 0, before_maybe = 0;
        std::uint64_t after_always = 0, after_maybe = 0;
    };
    void rebuild_allow(Route& route);
    void classify_hooks();
    // `route`: the route the request matched, or null (every prefix is compared).
    void run_after_hooks(const http::Request& request, http::Response& response,
                         const Route* route = nullptr) const;

    struct PrefixHook {
        std::string prefix;
        Hook hook;
    };
    std::vector<PrefixHook> before_;
    std::vector<PrefixHook> after_;
    std::vector<Route> routes_;
    RouteTree tree_;
    std::string error_;
    Lifecycle lifecycle_;
    bool any_streaming_ = false;
    bool hook_masks_ = true;  // false past 64 hooks of a kind: every prefix compared per request
};

}  // namespace lake::handlers
