-- wrk script: browser-sized requests — a query string and about 600 bytes of the headers a
-- browser sends (user agent, accepts, cookies, fetch metadata).
--   wrk -t2 -c256 -d10s -s loadtest/browser.lua http://127.0.0.1:8080/plaintext
local req

function init(args)
  local headers = {
    ["Host"] = "localhost:8080",
    ["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) " ..
      "Chrome/131.0.0.0 Safari/537.36",
    ["Accept"] = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif," ..
      "image/webp,*/*;q=0.8",
    ["Accept-Language"] = "en-GB,en;q=0.9,de;q=0.8",
    ["Accept-Encoding"] = "gzip, deflate, br, zstd",
    ["Referer"] = "http://localhost:8080/catalogue/index.html?page=2",
    ["Cookie"] = "session=9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c; theme=dark; " ..
      "consent=analytics%3Dno%26ads%3Dno; _ga=GA1.1.123456789.1700000000",
    ["Sec-Fetch-Dest"] = "document",
    ["Sec-Fetch-Mode"] = "navigate",
    ["Sec-Fetch-Site"] = "same-origin",
    ["Upgrade-Insecure-Requests"] = "1",
    ["Cache-Control"] = "max-age=0",
  }
  req = wrk.format("GET", wrk.path .. "?q=lake+arena&page=3&sort=price_asc&utm_source=test",
                   headers)
end

function request()
  return req
end
