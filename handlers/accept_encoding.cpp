#include "accept_encoding.hpp"

namespace lake::http {

namespace {

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// A qvalue (§12.4.2): "0" or "1", optionally with up to three decimals ("1" only with zeros);
// -1 when it is none.
int qvalue(std::string_view s) noexcept {
    if (s.empty() || (s[0] != '0' && s[0] != '1')) return -1;
    int value = (s[0] - '0') * 1000;
    if (s.size() == 1) return value;
    if (s[1] != '.' || s.size() > 5) return -1;
    int scale = 100;
    for (const char c : s.substr(2)) {
        if (c < '0' || c > '9') return -1;
        value += (c - '0') * scale;
        scale /= 10;
    }
    return value <= 1000 ? value : -1;
}

// The weight an element ("gzip", "br;q=0.5", "* ; q=0") gives, or -1 when it is malformed.
int element_weight(std::string_view params) noexcept {
    int weight = 1000;
    while (!params.empty()) {
        const std::size_t semi = params.find(';');
        const std::string_view param = trim(params.substr(0, semi));
        params = semi == std::string_view::npos ? std::string_view() : params.substr(semi + 1);
        const std::size_t eq = param.find('=');
        if (eq == std::string_view::npos) return -1;
        if (iequals(trim(param.substr(0, eq)), "q")) {
            weight = qvalue(trim(param.substr(eq + 1)));
            if (weight < 0) return -1;
        }
    }
    return weight;
}

}  // namespace

int coding_weight(const Request& req, std::string_view coding) noexcept {
    int own = -1, any = -1;
    for (const Header& h : req.headers) {
        if (!iequals(h.name, "accept-encoding")) continue;
        std::string_view list = h.value;
        while (!list.empty()) {
            const std::size_t comma = list.find(',');
            const std::string_view element = list.substr(0, comma);
            list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
            const std::size_t semi = element.find(';');
            const std::string_view name = trim(element.substr(0, semi));
            if (name.empty()) continue;  // "a, , b": empty elements are allowed (§5.6.1)
            const int weight = element_weight(
                semi == std::string_view::npos ? std::string_view() : element.substr(semi + 1));
            if (weight < 0) continue;
            if (iequals(name, coding) || (coding == "gzip" && iequals(name, "x-gzip")))
                own = own < 0 ? weight : own;
            else if (name == "*")
                any = any < 0 ? weight : any;
        }
    }
    return own >= 0 ? own : any >= 0 ? any : 0;
}

}  // namespace lake::http
