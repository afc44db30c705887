// handlers/short_compare.hpp — equality of the short strings routing compares (path segments,
// parameter names, hook prefixes): a byte loop the compiler keeps inline, where a call to
// memcmp (through the PLT and glibc's dispatch) cost more than the comparison itself.
#pragma once

#include <cstddef>
#include <string_view>

namespace lake::handlers {

inline bool same_bytes(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (a[i] != b[i]) return false;
    return true;
}

inline bool starts_with_bytes(std::string_view s, std::string_view prefix) noexcept {
    return s.size() >= prefix.size() && same_bytes(s.substr(0, prefix.size()), prefix);
}

}  // namespace lake::handlers
