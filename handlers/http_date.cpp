#include "http_date.hpp"

namespace lake::http {

namespace {

constexpr std::string_view kDays[7] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
constexpr std::string_view kLongDays[7] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                           "Friday", "Saturday", "Sunday"};
constexpr std::string_view kMonths[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// Days from 1970-01-01 to a date of the proleptic Gregorian calendar (month 1-12): years are
// counted from March, so that a leap day is the last day of its year, in eras of 400 years.
constexpr std::int64_t days_from_civil(std::int64_t y, int m, int d) noexcept {
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const std::int64_t year_of_era = y - era * 400;
    const std::int64_t day_of_year = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const std::int64_t day_of_era =
        year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + day_of_era - 719468;
}

// The inverse: the year, month and day of `days` since 1970-01-01.
constexpr void civil_from_days(std::int64_t days, std::int64_t& y, int& m, int& d) noexcept {
    days += 719468;
    const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    const std::int64_t day_of_era = days - era * 146097;
    const std::int64_t year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
    const std::int64_t day_of_year =
        day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    const std::int64_t mp = (5 * day_of_year + 2) / 153;
    d = static_cast<int>(day_of_year - (153 * mp + 2) / 5 + 1);
    m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
    y = year_of_era + era * 400 + (m <= 2);
}

static_assert(days_from_civil(1970, 1, 1) == 0);
static_assert(days_from_civil(2000, 3, 1) == 11017);

constexpr int days_in_month(std::int64_t y, int m) noexcept {
    constexpr int kDaysIn[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : kDaysIn[m - 1];
}

// Reads a date's pieces off the front of the text; any mismatch leaves `ok` false.
struct Reader {
    std::string_view rest;
    bool ok = true;

    void literal(std::string_view s) noexcept {
        if (rest.substr(0, s.size()) == s) {
            rest.remove_prefix(s.size());
        } else {
            ok = false;
        }
    }
    int digits(std::size_t n) noexcept {
        if (rest.size() < n) {
            ok = false;
            return 0;
        }
        int v = 0;
        for (std::size_t i = 0; i < n; ++i) {
            const char c = rest[i];
            if (c < '0' || c > '9') ok = false;
            v = v * 10 + (c - '0');
        }
        rest.remove_prefix(n);
        return v;
    }
    // The index of the name `rest` starts with, or -1.
    template <std::size_t N>
    int one_of(const std::string_view (&names)[N]) noexcept {
        for (std::size_t i = 0; i < N; ++i) {
            if (rest.substr(0, names[i].size()) == names[i]) {
                rest.remove_prefix(names[i].size());
                return static_cast<int>(i);
            }
        }
        ok = false;
        return -1;
    }
};

struct Fields {
    std::int64_t year = 0;
    int month = 0, day = 0, hour = 0, minute = 0, second = 0;
};

void time_of_day(Reader& r, Fields& f) noexcept {
    f.hour = r.digits(2);
    r.literal(":");
    f.minute = r.digits(2);
    r.literal(":");
    f.second = r.digits(2);
}

std::optional<std::int64_t> seconds_of(const Fields& f) noexcept {
    if (f.month < 1 || f.month > 12 || f.day < 1 || f.day > days_in_month(f.year, f.month) ||
        f.hour > 23 || f.minute > 59 || f.second > 60)  // 60: a leap second
        return std::nullopt;
    return days_from_civil(f.year, f.month, f.day) * 86400 + f.hour * 3600 + f.minute * 60 +
           f.second;
}

}  // namespace

std::optional<std::int64_t> parse_http_date(std::string_view text, std::int64_t now) noexcept {
    Reader r{text};
    Fields f;
    if (text.size() == 29 && text[3] == ',') {  // IMF-fixdate
        r.one_of(kDays);
        r.literal(", ");
        f.day = r.digits(2);
        r.literal(" ");
        f.month = r.one_of(kMonths) + 1;
        r.literal(" ");
        f.year = r.digits(4);
        r.literal(" ");
        time_of_day(r, f);
        r.literal(" GMT");
    } else if (text.size() == 24 && text[3] == ' ') {  // asctime-date
        r.one_of(kDays);
        r.literal(" ");
        f.month = r.one_of(kMonths) + 1;
        r.literal(" ");
        if (!r.rest.empty() && r.rest[0] == ' ') {
            r.literal(" ");
            f.day = r.digits(1);
        } else {
            f.day = r.digits(2);
        }
        r.literal(" ");
        time_of_day(r, f);
        r.literal(" ");
        f.year = r.digits(4);
    } else {  // rfc850-date, or nothing
        r.one_of(kLongDays);
        r.literal(", ");
        f.day = r.digits(2);
        r.literal("-");
        f.month = r.one_of(kMonths) + 1;
        r.literal("-");
        const int yy = r.digits(2);
        r.literal(" ");
        time_of_day(r, f);
        r.literal(" GMT");
        std::int64_t this_year = 0;
        int m = 0, d = 0;
        civil_from_days(now >= 0 ? now / 86400 : (now - 86399) / 86400, this_year, m, d);
        f.year = this_year - this_year % 100 + yy;
        if (f.year > this_year + 50) f.year -= 100;
    }
    if (!r.ok || !r.rest.empty()) return std::nullopt;
    return seconds_of(f);
}

void format_http_date(std::int64_t seconds, char (&out)[kHttpDateSize]) noexcept {
    std::int64_t days = seconds / 86400, rest = seconds % 86400;
    if (rest < 0) {
        rest += 86400;
        --days;
    }
    std::int64_t y = 0;
    int m = 0, d = 0;
    civil_from_days(days, y, m, d);
    const int weekday = static_cast<int>(((days % 7) + 7 + 3) % 7);  // 1970-01-01 was a Thursday
    auto two = [](char* p, std::int64_t v) {
        p[0] = static_cast<char>('0' + v / 10);
        p[1] = static_cast<char>('0' + v % 10);
    };
    char* p = out;
    for (char c : kDays[weekday]) *p++ = c;
    *p++ = ',';
    *p++ = ' ';
    two(p, d);
    p += 2;
    *p++ = ' ';
    for (char c : kMonths[m - 1]) *p++ = c;
    *p++ = ' ';
    two(p, y / 100 % 100);
    two(p + 2, y % 100);
    p += 4;
    *p++ = ' ';
    two(p, rest / 3600);
    p[2] = ':';
    two(p + 3, rest / 60 % 60);
    p[5] = ':';
    two(p + 6, rest % 60);
    p += 8;
    for (char c : std::string_view(" GMT")) *p++ = c;
}

}  // namespace lake::http
