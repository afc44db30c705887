#include "request.hpp"

#include "short_compare.hpp"

namespace lake::http {

std::string_view trim_blanks(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

bool next_list_item(std::string_view& list, std::string_view& item) noexcept {
    while (!list.empty()) {
        const std::size_t comma = list.find(',');
        item = trim_blanks(list.substr(0, comma));
        list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
        if (!item.empty()) return true;
    }
    return false;
}

namespace {
// ASCII lower case, one look-up a byte (header names are compared on every request).
constexpr struct Lower {
    unsigned char of[256] = {};
    constexpr Lower() {
        for (int c = 0; c < 256; ++c)
            of[c] = static_cast<unsigned char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
} kLower;
}  // namespace

bool iequals_same_size(std::string_view a, std::string_view b) noexcept {
    for (std::size_t i = 0; i < a.size(); ++i)
        if (kLower.of[static_cast<unsigned char>(a[i])] !=
            kLower.of[static_cast<unsigned char>(b[i])])
            return false;
    return true;
}

std::string_view Request::header(std::string_view name) const noexcept {
    for (const Header& h : headers)
        if (iequals(h.name, name)) return h.value;
    return {};
}

namespace {

bool is_form(std::string_view content_type) noexcept {
    constexpr std::string_view kForm = "application/x-www-form-urlencoded";
    return content_type.size() >= kForm.size() &&
           iequals(content_type.substr(0, kForm.size()), kForm) &&
           (content_type.size() == kForm.size() || content_type[kForm.size()] == ';' ||
            content_type[kForm.size()] == ' ');
}

std::string_view field_of(std::string_view text, std::string_view name,
                          lake::BasicArena* arena) noexcept {
    UrlEncodedFields fields(text, arena);
    std::string_view n, v;
    while (fields.next(n, v))
        if (n == name) return v;
    return {};
}

}  // namespace

std::string_view Request::query_param(std::string_view name) const noexcept {
    return field_of(query, name, arena);
}

std::string_view Request::form_field(std::string_view name) const noexcept {
    return is_form(header("content-type")) ? field_of(body, name, arena) : std::string_view();
}

UrlEncodedFields Request::form_fields() const noexcept {
    return UrlEncodedFields(is_form(header("content-type")) ? body : std::string_view(), arena);
}

std::string_view Request::cookie(std::string_view name) const noexcept {
    for (const Header& h : headers) {
        if (!iequals(h.name, "cookie")) continue;
        std::string_view rest = h.value;
        while (!rest.empty()) {
            const std::size_t semi = rest.find(';');
            std::string_view pair = rest.substr(0, semi);
            rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
            while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
            const std::size_t eq = pair.find('=');
            if (eq == std::string_view::npos || pair.substr(0, eq) != name) continue;
            std::string_view value = pair.substr(eq + 1);
            if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
                value = value.substr(1, value.size() - 2);  // RFC 6265 allows a quoted value
            return value;
        }
    }
    return {};
}

}  // namespace lake::http
