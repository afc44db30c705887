-- wrk script: a POST mix to /echo — small JSON bodies with Content-Length, and the same sent
-- chunked (in two chunks), alternating.
--   wrk -t2 -c256 -d10s -s loadtest/post_mix.lua http://127.0.0.1:8080/echo
local reqs = {}
local n = 0

function init(args)
  local body = '{"user":42,"items":[{"sku":"A-1","qty":2},{"sku":"B-7","qty":1}],"note":"hi"}'
  reqs[1] = wrk.format("POST", nil, { ["Host"] = "localhost",
                                      ["Content-Type"] = "application/json" }, body)
  local half = math.floor(#body / 2)
  local a, b = body:sub(1, half), body:sub(half + 1)
  reqs[2] = "POST " .. wrk.path .. " HTTP/1.1\r\nHost: localhost\r\n" ..
    "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" ..
    string.format("%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n", #a, a, #b, b)
end

function request()
  n = n + 1
  return reqs[(n % 2) + 1]
end
