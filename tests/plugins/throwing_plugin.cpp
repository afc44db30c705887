// A plugin whose init throws: the loader must turn that into an error, not a crash.
#include <stdexcept>

#include "../../handlers/plugin.hpp"

LAKE_PLUGIN_DECLARE_ABI();
extern "C" int lake_plugin_init(lake::handlers::PluginHost&) {
    throw std::runtime_error("no config for me");
}
