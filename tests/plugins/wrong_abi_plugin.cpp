// A plugin built for another ABI version: the loader must refuse it before calling anything.
#include "../../handlers/plugin.hpp"

extern "C" const int lake_plugin_abi_version = LAKE_PLUGIN_ABI_VERSION + 1;
extern "C" int lake_plugin_init(lake::handlers::Router&, const char*) { return 0; }
