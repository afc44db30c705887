// A plugin that claims another compiler and standard library: the loader must refuse it, saying
// what differs, before calling anything.
#include "../../handlers/plugin.hpp"

extern "C" const lake::handlers::PluginAbi lake_plugin_abi = {LAKE_PLUGIN_ABI_VERSION, "clang 99",
                                                              LAKE_PLUGIN_STDLIB};
extern "C" int lake_plugin_init(lake::handlers::PluginHost&) { return 0; }
