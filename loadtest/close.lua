-- wrk script: a new connection per request. HTTP/1.1 with `Connection: close`, or (argument
-- "1.0") HTTP/1.0 without keep-alive; wrk reconnects after each response.
--   wrk -t2 -c64 -d10s -s loadtest/close.lua http://127.0.0.1:8080/plaintext -- 1.0
local req

function init(args)
  if args[1] == "1.0" then
    req = "GET " .. wrk.path .. " HTTP/1.0\r\nHost: localhost\r\n\r\n"
  else
    req = wrk.format(nil, nil, { ["Host"] = "localhost", ["Connection"] = "close" })
  end
end

function request()
  return req
end
