// lake/version.hpp — the library version.
#pragma once

#define LAKE_VERSION_MAJOR 0
#define LAKE_VERSION_MINOR 1
#define LAKE_VERSION_PATCH 0

namespace lake {
inline constexpr const char* kVersion = "0.1.0";
}
