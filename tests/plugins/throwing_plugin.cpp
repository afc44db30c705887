// A plugin whose init throws: the loader must turn that into an error, not a crash.
#include <stdexcept>

#include "../../handlers/plugin.hpp"

extern "C" const int lake_plugin_abi_version = LAKE_PLUGIN_ABI_VERSION;
extern "C" int lake_plugin_init(lake::handlers::Router&, const char*) {
    throw std::runtime_error("no config for me");
}
