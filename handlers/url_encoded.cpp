#include "url_encoded.hpp"

namespace lake::http {

namespace {

std::string_view decode(std::string_view text, lake::BasicArena& arena, bool& ok,
                        bool plus_is_space) noexcept {
    ok = true;
    if (text.find_first_of(plus_is_space ? "%+" : "%") == std::string_view::npos) return text;
    auto* out = static_cast<char*>(arena.allocate(text.size(), 1));  // decoding never grows it
    if (out == nullptr) {
        ok = false;
        return {};
    }
    std::size_t n = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '+' && plus_is_space) {
            out[n++] = ' ';
        } else if (c == '%' && i + 2 < text.size() && hex_digit(text[i + 1]) >= 0 &&
                   hex_digit(text[i + 2]) >= 0) {
            out[n++] = static_cast<char>(hex_digit(text[i + 1]) * 16 + hex_digit(text[i + 2]));
            i += 2;
        } else {
            out[n++] = c;
        }
    }
    (void)arena.deallocate(out + n, text.size() - n);  // the tail the escapes saved
    return {out, n};
}

}  // namespace

std::string_view url_decode(std::string_view text, lake::BasicArena& arena, bool& ok) noexcept {
    return decode(text, arena, ok, true);
}

std::string_view percent_decode(std::string_view text, lake::BasicArena& arena, bool& ok) noexcept {
    return decode(text, arena, ok, false);
}

bool UrlEncodedFields::next(std::string_view& name, std::string_view& value) noexcept {
    while (!rest_.empty() && !full_) {
        const std::size_t amp = rest_.find('&');
        const std::string_view pair = rest_.substr(0, amp);
        rest_ = amp == std::string_view::npos ? std::string_view() : rest_.substr(amp + 1);
        if (pair.empty()) continue;
        const std::size_t eq = pair.find('=');
        bool ok_name = true, ok_value = true;
        name = url_decode(pair.substr(0, eq), *arena_, ok_name);
        value = eq == std::string_view::npos ? std::string_view()
                                             : url_decode(pair.substr(eq + 1), *arena_, ok_value);
        if (ok_name && ok_value) return true;
        full_ = true;
    }
    return false;
}

}  // namespace lake::http
