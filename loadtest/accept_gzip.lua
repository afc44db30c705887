-- wrk script: GET with "Accept-Encoding: gzip", as a browser sends it (and takes a precompressed
-- copy of a static file).
--   wrk -t2 -c256 -d10s -s loadtest/accept_gzip.lua http://127.0.0.1:8080/static-gz/small.css
wrk.headers["Accept-Encoding"] = "gzip"
