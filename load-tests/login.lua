-- wrk script: logins by one registered member, each from a different client address so
-- the per-IP login limit (60/min) does not cap the measurement. The server must run with
-- HOITHI_TRUST_FORWARDED_FOR=true (scripts/bench-login.sh does).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"login": "0912345678", "password": "bench password 1"}'

request = function()
  local ip = string.format("10.%d.%d.%d", math.random(0, 255), math.random(0, 255), math.random(1, 254))
  wrk.headers["X-Forwarded-For"] = ip
  return wrk.format()
end
-- wrk prints a "Non-2xx or 3xx responses" line when any login failed.
