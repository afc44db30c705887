#include "plugin.hpp"

#include <dlfcn.h>

namespace lake::handlers {

std::string load_plugin(const std::string& spec, Router& router) {
    const std::size_t colon = spec.find(':');
    const std::string path = spec.substr(0, colon);
    const std::string argument = colon == std::string::npos ? "" : spec.substr(colon + 1);

    void* lib = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) return "cannot load plugin " + path + ": " + ::dlerror();
    const auto* abi = static_cast<const int*>(::dlsym(lib, "lake_plugin_abi_version"));
    auto init = reinterpret_cast<PluginInit>(::dlsym(lib, "lake_plugin_init"));
    if (abi == nullptr || init == nullptr) {
        ::dlclose(lib);
        return "plugin " + path +
               " does not export lake_plugin_abi_version and lake_plugin_init (see "
               "handlers/plugin.hpp)";
    }
    if (*abi != LAKE_PLUGIN_ABI_VERSION) {
        const int got = *abi;
        ::dlclose(lib);
        return "plugin " + path + " was built for plugin ABI " + std::to_string(got) +
               "; this lake-server speaks " + std::to_string(LAKE_PLUGIN_ABI_VERSION);
    }
    try {
        if (const int rc = init(router, argument.c_str()); rc != 0)
            return "plugin " + path + " refused to start (lake_plugin_init returned " +
                   std::to_string(rc) + ")";
    } catch (const std::exception& e) {
        return "plugin " + path + " threw during lake_plugin_init: " + e.what();
    } catch (...) {
        return "plugin " + path + " threw during lake_plugin_init";
    }
    if (std::string err = router.take_error(); !err.empty()) return "plugin " + path + ": " + err;
    return {};  // the library stays loaded: its handlers are in the router
}

}  // namespace lake::handlers
