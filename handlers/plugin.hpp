// handlers/plugin.hpp — the handler plugin API: shared libraries loaded at start-up.
//
// A plugin is a shared library built against these headers with the same compiler. It exports
//
//   extern "C" const int lake_plugin_abi_version = LAKE_PLUGIN_ABI_VERSION;
//   extern "C" int lake_plugin_init(lake::handlers::Router& router, const char* argument);
//
// lake_plugin_init registers its routes (router.add(...)) and returns 0, or non-zero to refuse
// to start (the server then exits with the plugin's name). It runs once, on the main thread,
// before any worker starts; routes it adds replace built-in ones with the same method and path.
// Handlers then run on every worker thread at once: their context must be safe to share
// (read-only, or per-thread state of their own). See examples/plugins/hello_plugin.cpp.
#pragma once

#include <string>

#include "router.hpp"

#define LAKE_PLUGIN_ABI_VERSION 2  // 2: Request::params, routes with parameters

namespace lake::handlers {

using PluginInit = int (*)(Router& router, const char* argument);

// Loads the plugin at `path` ("file.so" or "file.so:argument") and lets it register its
// routes. Returns an empty string, or what went wrong. The library stays loaded for the life of
// the process.
std::string load_plugin(const std::string& spec, Router& router);

}  // namespace lake::handlers
