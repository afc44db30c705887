#include "router.hpp"

namespace lake::handlers {

namespace {
constexpr const char* kMethodNames[] = {"GET",    "HEAD",    "POST",  "PUT",
                                        "DELETE", "OPTIONS", "PATCH", "TRACE"};
int index_of(http::Method m) { return static_cast<int>(m); }

void text(http::Response& r, int status, std::string_view body) {
    r.status = status;
    r.content_type = "text/plain; charset=utf-8";
    r.body = body;
}
}  // namespace

void Router::add(http::Method method, std::string path, Handler handler) {
    Route* route = nullptr;
    for (Route& r : routes_)
        if (r.path == path) route = &r;
    if (route == nullptr) {
        routes_.push_back(Route{});
        route = &routes_.back();
        route->path = std::move(path);
    }
    route->by_method[index_of(method)] = handler;
    if (method == http::Method::Get && route->by_method[index_of(http::Method::Head)].fn == nullptr)
        route->by_method[index_of(http::Method::Head)] = handler;
    rebuild_allow(*route);
}

void Router::rebuild_allow(Route& route) {
    route.allow.clear();
    for (int m = 0; m < index_of(http::Method::Other); ++m) {
        if (route.by_method[m].fn == nullptr && m != index_of(http::Method::Options)) continue;
        if (!route.allow.empty()) route.allow += ", ";
        route.allow += kMethodNames[m];
    }
}

const Router::Route* Router::find(std::string_view path) const noexcept {
    for (const Route& r : routes_)
        if (r.path == path) return &r;
    return nullptr;
}

void Router::dispatch(const http::Request& request, http::Response& response) const noexcept {
    if (request.method == http::Method::Other) {
        text(response, 501, "Not Implemented\n");
        return;
    }
    if (request.path == "*") {  // OPTIONS * : what the server as a whole supports
        response.status = 204;
        response.add_header("Allow", "GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH");
        return;
    }
    const Route* route = find(request.path);
    if (route == nullptr) {
        text(response, 404, "Not Found\n");
        return;
    }
    const Handler& h = route->by_method[index_of(request.method)];
    if (h.fn == nullptr) {
        if (request.method == http::Method::Options) {
            response.status = 204;
        } else {
            text(response, 405, "Method Not Allowed\n");
        }
        response.add_header("Allow", route->allow);
        return;
    }
    try {
        h.fn(request, response, h.context);
    } catch (...) {
        response.reset();
        text(response, 500, "Internal Server Error\n");
    }
}

}  // namespace lake::handlers
