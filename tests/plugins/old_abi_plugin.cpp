// A plugin built for an older ABI that calls a function this server no longer has (as one built
// before Response::add_header became inline would): refused naming the ABI, not with the
// dynamic linker's "undefined symbol".
#include "../../handlers/plugin.hpp"

extern "C" void lake_function_this_server_no_longer_has();

extern "C" const lake::handlers::PluginAbi lake_plugin_abi = {
    LAKE_PLUGIN_ABI_VERSION - 1, LAKE_PLUGIN_COMPILER, LAKE_PLUGIN_STDLIB};
extern "C" int lake_plugin_init(lake::handlers::PluginHost&) {
    lake_function_this_server_no_longer_has();
    return 0;
}
