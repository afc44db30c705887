// handlers/plugin.hpp — the handler plugin API: shared libraries loaded at start-up.
//
// A plugin is a shared library built against these headers with the same compiler and standard
// library as the server (std::string and std::function cross between them). It exports
//
//   LAKE_PLUGIN_DECLARE_ABI();   // the API version and the compiler/library it was built with
//   extern "C" int lake_plugin_init(lake::handlers::PluginHost& host);
//
// lake_plugin_init reads its settings (host.config()), registers its routes and hooks
// (host.router().add(...), host.on_worker_start(...)) and returns 0, or non-zero to refuse to
// start (host.refuse("why") says why; the server then exits naming the plugin). It runs once, on
// the main thread, before any worker starts; routes it adds replace built-in ones with the same
// method and path. Handlers then run on every worker thread at once: their context must be
// read-only, or per-thread state set up in on_worker_start. See examples/plugins/.
#pragma once

#include <functional>
#include <string>
#include <utility>

#include "plugin_config.hpp"
#include "router.hpp"

// 13: Io::send_file (a file's range from the page cache), an operation an older server lacks;
// Io::pass(), a new virtual.
// 12: http::coding_weight (handlers/accept_encoding.hpp), a new symbol a plugin may call.
// 11: Request::decoded_param, Response::set_cookie and http::percent_decode, new symbols a plugin
// built against these headers may call.
// 10: Response::add_header(ConstantHeader) in line but for its growing path, a new symbol
// (add_constant_header_growing) that a plugin built against these headers calls.
// 9: Response counts its headers' bytes (a new field, kept by the inline add_header) and its
// prepare()/commit() are inline; the Request::params a handler that answers at once sees live
// only as long as its call.
// 8: lake's arena bookkeeping laid out anew (what a request touches first): the arena calls a
// plugin inlines (request.arena, Response's writers) read those fields.
// 7: Response::add_header(name, value), Request::param and http::iequals inline (their old
// symbols are gone).
// 6: Response::add_header(ConstantHeader), headers checked when the plugin is compiled.
// 5: Io gains sockets of the handler's own (connect, receive, send_bytes) and client_address().
// 4: waiting handlers (Handler::waiting/streaming, Task, Io; Request::io, Response::stream_length).
// 3: PluginHost (a config table per plugin, per-worker and shutdown hooks), compiler and
// standard-library identity in the ABI check. 2: Request::params, routes with parameters.
#define LAKE_PLUGIN_ABI_VERSION 13

#define LAKE_PLUGIN_STR2(x) #x
#define LAKE_PLUGIN_STR(x) LAKE_PLUGIN_STR2(x)
#if defined(__clang__)
#define LAKE_PLUGIN_COMPILER "clang " LAKE_PLUGIN_STR(__clang_major__)
#elif defined(__GNUC__)
#define LAKE_PLUGIN_COMPILER "GCC " LAKE_PLUGIN_STR(__GNUC__)
#else
#define LAKE_PLUGIN_COMPILER "an unknown compiler"
#endif
#if defined(_LIBCPP_VERSION)
#define LAKE_PLUGIN_STDLIB "libc++ " LAKE_PLUGIN_STR(_LIBCPP_VERSION)
#elif defined(_GLIBCXX_RELEASE) && _GLIBCXX_USE_CXX11_ABI
#define LAKE_PLUGIN_STDLIB "libstdc++ " LAKE_PLUGIN_STR(_GLIBCXX_RELEASE)
#elif defined(_GLIBCXX_RELEASE)
#define LAKE_PLUGIN_STDLIB "libstdc++ " LAKE_PLUGIN_STR(_GLIBCXX_RELEASE) " (old string ABI)"
#else
#define LAKE_PLUGIN_STDLIB "an unknown standard library"
#endif

namespace lake::handlers {

// What a plugin (or the server) was built for.
struct PluginAbi {
    int version;
    const char* compiler;
    const char* stdlib;
};

}  // namespace lake::handlers

#define LAKE_PLUGIN_DECLARE_ABI()                                  \
    extern "C" const lake::handlers::PluginAbi lake_plugin_abi = { \
        LAKE_PLUGIN_ABI_VERSION, LAKE_PLUGIN_COMPILER, LAKE_PLUGIN_STDLIB}

namespace lake::handlers {

// What lake_plugin_init is given.
class PluginHost {
  public:
    PluginHost(Router& router, const PluginConfig& config) : router_(router), config_(config) {}

    Router& router() noexcept { return router_; }
    const PluginConfig& config() const noexcept { return config_; }
    void on_worker_start(Lifecycle::WorkerHook hook) {
        router_.lifecycle().worker_start.push_back(std::move(hook));
    }
    void on_worker_stop(Lifecycle::WorkerHook hook) {
        router_.lifecycle().worker_stop.push_back(std::move(hook));
    }
    void on_shutdown(std::function<void()> hook) {
        router_.lifecycle().shutdown.push_back(std::move(hook));
    }
    // Why the plugin refuses to start (say it, then return non-zero from lake_plugin_init).
    void refuse(std::string why) { refusal_ = std::move(why); }
    const std::string& refusal() const noexcept { return refusal_; }

  private:
    Router& router_;
    const PluginConfig& config_;
    std::string refusal_;
};

using PluginInit = int (*)(PluginHost& host);

// Loads the plugin, checks what it was built for and lets it register its routes and hooks.
// Returns an empty string, or what went wrong (naming the plugin). The library stays loaded for
// the life of the process.
std::string load_plugin(const PluginConfig& plugin, Router& router);
inline std::string load_plugin(const std::string& spec, Router& router) {
    return load_plugin(plugin_from_spec(spec), router);
}

}  // namespace lake::handlers
