#include "normal_path.hpp"

#include <cstddef>

#include "url_encoded.hpp"

namespace lake::http {

bool is_normal_path(std::string_view path) noexcept {
    if (path.empty() || path.front() != '/') return true;  // "*", or no path: nothing to do
    std::size_t segment = 1;                               // where the current segment starts
    for (std::size_t i = 1; i <= path.size(); ++i) {
        const char c = i < path.size() ? path[i] : '/';
        if (c == '%' || c == '\\') return false;
        if (c != '/') continue;
        const std::string_view s = path.substr(segment, i - segment);
        // An empty segment is normal only as the last one ("/users/": a trailing slash).
        if ((s.empty() && i < path.size()) || s == "." || s == "..") return false;
        segment = i + 1;
    }
    return true;
}

std::string_view normal_path(std::string_view path, lake::BasicArena& arena) noexcept {
    if (is_normal_path(path)) return path;
    auto* out = static_cast<char*>(arena.allocate(path.size() + 1, 1));
    if (out == nullptr) return {};
    // Decoded, with '\' as '/'; a broken escape stays as it is (as url_decode leaves it).
    std::size_t n = 0;
    for (std::size_t i = 0; i < path.size(); ++i) {
        char c = path[i];
        if (c == '%' && i + 2 < path.size() && hex_digit(path[i + 1]) >= 0 &&
            hex_digit(path[i + 2]) >= 0) {
            c = static_cast<char>(hex_digit(path[i + 1]) * 16 + hex_digit(path[i + 2]));
            i += 2;
        }
        out[n++] = c == '\\' ? '/' : c;
    }
    // Segment by segment, in place: what is written never overtakes what is read.
    std::size_t w = 0, r = 0;
    bool trailing_slash = false;
    while (r < n) {
        while (r < n && out[r] == '/') ++r;
        std::size_t end = r;
        while (end < n && out[end] != '/') ++end;
        const std::string_view s(out + r, end - r);
        trailing_slash = end == n ? (s.empty() || s == "." || s == "..") : true;
        if (s == "..") {
            while (w > 0 && out[w - 1] != '/') --w;  // back over the last segment
            if (w > 0) --w;                          // and its slash
        } else if (!s.empty() && s != ".") {
            out[w++] = '/';
            for (std::size_t k = r; k < end; ++k) out[w++] = out[k];
        }
        r = end;
    }
    if (w == 0 || trailing_slash) out[w++] = '/';
    return {out, w};
}

}  // namespace lake::http
