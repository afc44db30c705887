-- wrk script: TechEmpower-style HTTP pipelining, N requests per write.
--   wrk -t2 -c256 -d10s -s loadtest/pipeline.lua http://127.0.0.1:8080/plaintext -- 16
local depth = 16

function init(args)
  depth = tonumber(args[1]) or 16
  local r = {}
  for i = 1, depth do
    r[i] = wrk.format(nil, nil, { ["Host"] = "localhost" })
  end
  req = table.concat(r)
end

function request()
  return req
end
