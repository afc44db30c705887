// handlers/router.hpp — exact path + method routing, built at start-up, read-only afterwards.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "handler.hpp"

namespace lake::handlers {

class Router {
  public:
    // Registers `handler` for `method` on `path` (exact match). GET also answers HEAD.
    void add(http::Method method, std::string path, Handler handler);

    // Fills `response`: the handler's answer, 404 for an unknown path, 405 with `Allow` for a
    // known path and another method, 204 with `Allow` for OPTIONS, 501 for methods not
    // implemented here. Exceptions from handlers become 500.
    void dispatch(const http::Request& request, http::Response& response) const noexcept;

  private:
    struct Route {
        std::string path;
        Handler by_method[static_cast<int>(http::Method::Other)] = {};
        std::string allow;  // "GET, HEAD, OPTIONS"
    };
    void rebuild_allow(Route& route);
    const Route* find(std::string_view path) const noexcept;

    std::vector<Route> routes_;
};

}  // namespace lake::handlers
