-- wrk script: POST bodies of a given size to /echo.
--   wrk -t2 -c256 -d10s -s loadtest/post.lua http://127.0.0.1:8080/echo -- 4096
function init(args)
  local size = tonumber(args[1]) or 4096
  wrk.method = "POST"
  wrk.body = string.rep("x", size)
  wrk.headers["Content-Type"] = "application/octet-stream"
end
