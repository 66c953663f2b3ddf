-- wrk script for ./dev bench (bench/bench.py): one request per line of a
-- file, each line used once (fresh tickets), or one path again and again
-- (the baselines); the same code either way, so that wrk spends the same
-- per request on both sides of a ratio.
--
--   wrk -t T -c C -d Ds -s requests.lua http://127.0.0.1:PORT -- \
--       T FILE|- ONCE|CYCLE PREFIX SUFFIX HOST REFERER|- COOKIE|- CHECK [EXTRA]
--
-- FILE: one line per request, sent as PREFIX .. line .. SUFFIX ("-": the
-- path is PREFIX .. SUFFIX).  ONCE: every line once, thread t takes lines
-- t, t+T, ...; when they run out the thread starts again and reports
-- wrapped=1 (the driver then mints more and runs again).
-- CHECK counts the responses that show the work was done: "cookie" (a
-- Set-Cookie), "tags" (a loader tag in the body), "notags" (none: the
-- session was already sent), "none".
-- EXTRA (optional): more request headers, "Name: value|Name: value".
-- done() prints one line:  BENCH requests=.. duration_us=.. bytes=.. ...

local threads = {}

function setup(thread)
   thread:set("id", #threads)
   table.insert(threads, thread)
end

function init(args)
   local nthreads = tonumber(args[1])
   local file, mode = args[2], args[3]
   prefix, suffix = args[4], args[5]
   check = args[9]
   headers = { Host = args[6] }
   if args[7] ~= "-" then headers["Referer"] = args[7] end
   if args[8] ~= "-" then headers["Cookie"] = args[8] end
   if args[10] and args[10] ~= "-" then
      for name, value in string.gmatch(args[10], "([^:|]+):%s*([^|]*)") do
         headers[name] = value
      end
   end
   list = {}
   if file == "-" then
      list[1] = ""
      once = false
   else
      local n = 0
      for line in io.lines(file) do
         if n % nthreads == id then list[#list + 1] = line end
         n = n + 1
      end
      once = (mode == "ONCE")
   end
   pos, used, wrapped, ok = 0, 0, 0, 0
end

function request()
   pos = pos + 1
   if pos > #list then
      pos = 1
      if once then wrapped = 1 end
   end
   used = used + 1
   return wrk.format("GET", prefix .. list[pos] .. suffix, headers)
end

function response(status, hdrs, body)
   if check == "cookie" then
      if hdrs["Set-Cookie"] then ok = ok + 1 end
   elseif check == "tags" then
      if body and string.find(body, "/shared-session/", 1, true) then ok = ok + 1 end
   elseif check == "notags" then
      if body and not string.find(body, "/shared-session/", 1, true) then ok = ok + 1 end
   end
end

function done(summary, latency, requests)
   local used_all, wrapped_all, ok_all = 0, 0, 0
   for _, t in ipairs(threads) do
      used_all = used_all + (t:get("used") or 0)
      wrapped_all = wrapped_all + (t:get("wrapped") or 0)
      ok_all = ok_all + (t:get("ok") or 0)
   end
   local e = summary.errors
   io.write(string.format(
      "BENCH requests=%d duration_us=%d bytes=%d errors=%d status_errors=%d " ..
      "connect=%d read=%d write=%d timeout=%d " ..
      "used=%d wrapped=%d ok=%d p50_us=%d p99_us=%d\n",
      summary.requests, summary.duration, summary.bytes,
      e.connect + e.read + e.write + e.timeout, e.status,
      e.connect, e.read, e.write, e.timeout,
      used_all, wrapped_all, ok_all,
      latency:percentile(50), latency:percentile(99)))
end
