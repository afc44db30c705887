#include "preconditions.hpp"

#include "http_date.hpp"

namespace lake::http {

namespace {

// Takes the next entity tag (`"x"` or `W/"x"`, RFC 9110 §8.8.3) off a comma-separated list.
// False at the end of the list, and when what comes next is not an entity tag (`malformed`
// then set): a tag may hold a comma, so the list is not split on commas first.
bool next_entity_tag(std::string_view& list, std::string_view& tag, bool& weak,
                     bool& malformed) noexcept {
    std::size_t i = 0;
    while (i < list.size() && (list[i] == ' ' || list[i] == '\t' || list[i] == ',')) ++i;
    list.remove_prefix(i);
    if (list.empty()) return false;
    weak = list.size() >= 2 && list[0] == 'W' && list[1] == '/';
    if (weak) list.remove_prefix(2);
    std::size_t end = list.empty() || list[0] != '"' ? std::string_view::npos : list.find('"', 1);
    if (end == std::string_view::npos) {
        malformed = true;
        list = {};
        return false;
    }
    tag = list.substr(0, end + 1);
    list.remove_prefix(end + 1);
    if (!list.empty() && list[0] != ',' && list[0] != ' ' && list[0] != '\t') {
        malformed = true;  // `"a"b`: bytes after a tag that are not the list's separator
        list = {};
        return false;
    }
    return true;
}

enum class Field { Absent, Matches, MatchesNot };

// If-Match (strong comparison) or If-None-Match (weak), over every line of the field.
Field match_field(const Request& req, std::string_view name, std::string_view etag,
                  bool strong) noexcept {
    Field result = Field::Absent;
    for (const Header& h : req.headers) {
        if (!iequals(h.name, name)) continue;
        if (result == Field::Absent) result = Field::MatchesNot;
        std::string_view list = trim_blanks(h.value);
        if (list == "*") return Field::Matches;  // the representation exists
        std::string_view tag;
        bool weak = false, malformed = false;
        while (next_entity_tag(list, tag, weak, malformed)) {
            if (tag == etag && !(strong && weak)) return Field::Matches;
        }
        if (malformed) return Field::MatchesNot;
    }
    return result;
}

// The field's date, when it is present and an HTTP-date.
std::optional<std::int64_t> date_field(const Request& req, std::string_view name,
                                       std::int64_t now) noexcept {
    const std::string_view value = req.header(name);
    if (value.empty()) return std::nullopt;
    return parse_http_date(trim_blanks(value), now);
}

}  // namespace

int evaluate_preconditions(const Request& req, const Validators& v, std::int64_t now) noexcept {
    const bool get_or_head = req.method == Method::Get || req.method == Method::Head;
    // 1, 2: the write-side conditions (a client resuming a download sends them with Range).
    if (const Field f = match_field(req, "if-match", v.etag, true); f != Field::Absent) {
        if (f == Field::MatchesNot) return 412;
    } else if (const auto since = date_field(req, "if-unmodified-since", now)) {
        if (v.last_modified > *since) return 412;
    }
    // 3, 4: the cache's conditions; If-Modified-Since only without If-None-Match.
    if (const Field f = match_field(req, "if-none-match", v.etag, false); f != Field::Absent) {
        if (f == Field::Matches) return get_or_head ? 304 : 412;
    } else if (get_or_head) {
        if (const auto since = date_field(req, "if-modified-since", now))
            if (v.last_modified <= *since) return 304;
    }
    return 0;
}

bool if_range_holds(const Request& req, const Validators& v, std::int64_t now) noexcept {
    const std::string_view value = trim_blanks(req.header("if-range"));
    if (value.empty()) return true;
    if (value.front() == '"' || value.starts_with("W/")) return value == v.etag;
    const auto date = parse_http_date(value, now);
    return date && *date == v.last_modified && v.last_modified < now;
}

}  // namespace lake::http
