// A plugin that uses its own settings and every lifecycle hook: GET /lifecycle answers
// "<greeting> x<times> worker=<n>", where n is per-thread state its worker-start hook set; the
// hooks append to the file named by its `log` setting ("start 0", "stop 1", "shutdown").
#include <cstdio>
#include <mutex>
#include <string>

#include "../../handlers/plugin.hpp"

namespace {

std::string g_greeting;
long long g_times = 1;
std::string g_log;
std::mutex g_log_mutex;
thread_local int t_worker = -1;

void note(const std::string& line) {
    if (g_log.empty()) return;
    std::lock_guard<std::mutex> lock(g_log_mutex);
    if (std::FILE* f = std::fopen(g_log.c_str(), "a")) {
        std::fprintf(f, "%s\n", line.c_str());
        std::fclose(f);
    }
}

void lifecycle(const lake::http::Request& request, lake::http::Response& response, void*) {
    lake::DropletDyn body = request.arena->process([&](std::span<std::byte> free) {
        return std::snprintf(reinterpret_cast<char*>(free.data()), free.size(),
                             "%s x%lld worker=%d", g_greeting.c_str(), g_times, t_worker);
    });
    response.content_type = "text/plain";
    response.body = body.as_chars();
    body.leak();
}

}  // namespace

LAKE_PLUGIN_DECLARE_ABI();

extern "C" int lake_plugin_init(lake::handlers::PluginHost& host) {
    const lake::handlers::PluginConfig& config = host.config();
    if (config.get<bool>("refuse").value_or(false)) {
        host.refuse("the settings say refuse = true");
        return 1;
    }
    g_greeting = config.get_or<std::string>("greeting", "hello");
    g_times = config.get_or<std::int64_t>("times", 1);
    g_log = config.get_or<std::string>("log", "");
    host.on_worker_start([](unsigned w) {
        t_worker = static_cast<int>(w);
        note("start " + std::to_string(w));
    });
    host.on_worker_stop([](unsigned w) { note("stop " + std::to_string(w)); });
    host.on_shutdown([] { note("shutdown"); });
    host.router().add(lake::http::Method::Get, "/lifecycle", {&lifecycle, nullptr});
    return 0;
}
