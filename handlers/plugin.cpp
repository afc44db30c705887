#include "plugin.hpp"

#include <dlfcn.h>

#include <cstring>

namespace lake::handlers {

namespace {

// "GCC 12 and libstdc++ 12"
std::string identity(const char* compiler, const char* stdlib) {
    return std::string(compiler != nullptr ? compiler : "?") + " and " +
           (stdlib != nullptr ? stdlib : "?");
}

// Why a plugin built for `abi` cannot run in this server, or "".
std::string abi_mismatch(const PluginAbi& abi) {
    if (abi.version != LAKE_PLUGIN_ABI_VERSION)
        return "was built for plugin ABI " + std::to_string(abi.version) +
               "; this lake-server speaks " + std::to_string(LAKE_PLUGIN_ABI_VERSION);
    const bool same_compiler =
        abi.compiler != nullptr && std::strcmp(abi.compiler, LAKE_PLUGIN_COMPILER) == 0;
    const bool same_stdlib =
        abi.stdlib != nullptr && std::strcmp(abi.stdlib, LAKE_PLUGIN_STDLIB) == 0;
    if (same_compiler && same_stdlib) return {};
    return "was built with " + identity(abi.compiler, abi.stdlib) + ", this lake-server with " +
           identity(LAKE_PLUGIN_COMPILER, LAKE_PLUGIN_STDLIB) + " (the " +
           (same_compiler ? "standard library differs"
            : same_stdlib ? "compiler differs"
                          : "both differ") +
           "): rebuild the plugin with the server's toolchain";
}

}  // namespace

std::string load_plugin(const PluginConfig& plugin, Router& router) {
    const std::string what = "plugin '" + plugin.name + "' (" + plugin.path + ")";
    void* lib = ::dlopen(plugin.path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) {
        const std::string error = ::dlerror();
        // A plugin built for another ABI may call functions this server no longer has: opened
        // without binding them, its ABI says why, which beats "undefined symbol".
        if (void* lazy = ::dlopen(plugin.path.c_str(), RTLD_LAZY | RTLD_LOCAL)) {
            const auto* abi = static_cast<const PluginAbi*>(::dlsym(lazy, "lake_plugin_abi"));
            std::string why = abi != nullptr ? abi_mismatch(*abi) : std::string();
            ::dlclose(lazy);
            if (!why.empty()) return what + " " + why;
        }
        return "cannot load " + what + ": " + error;
    }
    const auto* abi = static_cast<const PluginAbi*>(::dlsym(lib, "lake_plugin_abi"));
    auto init = reinterpret_cast<PluginInit>(::dlsym(lib, "lake_plugin_init"));
    if (abi == nullptr || init == nullptr) {
        ::dlclose(lib);
        return what +
               " does not export lake_plugin_abi and lake_plugin_init (LAKE_PLUGIN_DECLARE_ABI(); "
               "see handlers/plugin.hpp)";
    }
    if (std::string why = abi_mismatch(*abi); !why.empty()) {
        ::dlclose(lib);
        return what + " " + why;
    }
    PluginHost host(router, plugin);
    try {
        if (const int rc = init(host); rc != 0)
            return what + " refused to start (lake_plugin_init returned " + std::to_string(rc) +
                   (host.refusal().empty() ? "" : ": " + host.refusal()) + ")";
    } catch (const std::exception& e) {
        return what + " threw during lake_plugin_init: " + e.what();
    } catch (...) {
        return what + " threw during lake_plugin_init";
    }
    if (std::string err = router.take_error(); !err.empty()) return what + ": " + err;
    return {};  // the library stays loaded: its handlers and hooks are in the router
}

}  // namespace lake::handlers
