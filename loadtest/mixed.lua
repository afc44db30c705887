-- wrk script: a mix of /plaintext, /json and an unknown path (404), one request at a time.
--   wrk -t2 -c256 -d10s -s loadtest/mixed.lua http://127.0.0.1:8080
local paths = { "/plaintext", "/json", "/plaintext", "/json", "/missing" }
local requests = {}
local i = 0

function init(args)
  for k, p in ipairs(paths) do
    requests[k] = wrk.format("GET", p)
  end
end

function request()
  i = i % #requests + 1
  return requests[i]
end
