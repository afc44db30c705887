// Handlers that wait, as a plugin: coroutines on the worker's io_uring (handlers/task.hpp,
// handlers/io.hpp). While one waits, its worker serves every other connection.
//
//   GET /delay?ms=N     → "slept N ms" after N milliseconds (0 to 60000; a timer on the ring)
//   GET /stream?parts=N → N lines, each sent as it is written (Transfer-Encoding: chunked)
//
// Build: c++ -std=c++20 -shared -fPIC async_example.cpp $(pkg-config --cflags lake-server-plugin)
//        -o libasync_example.so
// Load:  lake-server --plugin ./libasync_example.so
#include <charconv>
#include <chrono>

#include "../../handlers/plugin.hpp"
#include "../../handlers/response_format.hpp"

namespace {

using lake::handlers::Task;
using lake::http::Request;
using lake::http::Response;

// A query parameter as a number in [0, max], or `fallback` when absent or not a number.
std::uint64_t number(const Request& request, std::string_view name, std::uint64_t max,
                     std::uint64_t fallback) {
    const std::string_view text = request.query_param(name);
    std::uint64_t v = 0;
    const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || r.ec != std::errc() || r.ptr != text.data() + text.size()) return fallback;
    return v > max ? max : v;
}

Task delay(const Request& request, Response& response, void*) {
    const std::uint64_t ms = number(request, "ms", 60000, 0);
    co_await request.io->sleep(std::chrono::milliseconds(ms));
    lake::http::format(response, "slept {} ms\n", ms);
    response.content_type = "text/plain";
}

Task stream(const Request& request, Response& response, void*) {
    const std::uint64_t parts = number(request, "parts", 10000, 3);
    response.content_type = "text/plain";
    for (std::uint64_t i = 0; i < parts; ++i) {
        lake::http::format(response, "part {}\n", i);
        if (co_await request.io->send(response) < 0) co_return;  // the client is gone
    }
}

}  // namespace

LAKE_PLUGIN_DECLARE_ABI();

extern "C" int lake_plugin_init(lake::handlers::PluginHost& host) {
    host.router().add(lake::http::Method::Get, "/delay", lake::handlers::Handler::waiting(delay));
    host.router().add(lake::http::Method::Get, "/stream", lake::handlers::Handler::waiting(stream));
    return 0;
}
