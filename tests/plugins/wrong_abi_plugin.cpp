// A plugin built for another ABI version: the loader must refuse it before calling anything.
#include "../../handlers/plugin.hpp"

extern "C" const lake::handlers::PluginAbi lake_plugin_abi = {
    LAKE_PLUGIN_ABI_VERSION + 1, LAKE_PLUGIN_COMPILER, LAKE_PLUGIN_STDLIB};
extern "C" int lake_plugin_init(lake::handlers::PluginHost&) { return 0; }
