-- wrk script for ./dev soak (soak/soak.py): a mix of filtered HTML pages on
-- a.test (with A's session cookie: the SHARED_SESSION filter inserts a
-- loader, i.e. seals a ticket, per page), fresh script tickets and fresh
-- navigation tickets on b.test.  Every ticket request takes the next ticket
-- of its thread's share of the files minted by `shared-session-tool mint
-- --count N`, one file per wrk thread: no ticket is sent twice.
--
-- wrk -s mix.lua URL -- SCRIPT_PREFIX NAV_PREFIX MIX A_COOKIE B_COOKIE NEXT PORT READY CLOSE
--   SCRIPT_PREFIX, NAV_PREFIX  thread i reads PREFIX-i.txt, one ticket a line
--                              ("-": none)
--   MIX       kinds in turn, e.g. "psn": p page, s script ticket, n navigation
--   B_COOKIE  sent with navigation tickets ("-" for none): B keeps its session
--   READY     thread i creates READY-i once its tickets are loaded ("-": no)
--   CLOSE     "close": every request says Connection: close
--
-- Responses are counted by kind and status in the response callback (the
-- kind is read from the answer: Location = navigation, text/javascript =
-- script, text/html = page) and printed by done() as one line
--   SOAK-COUNTS <tab> kind:status=N ...
-- Expected: page:200 (with a loader in the body), script:200, nav:303 (to
-- NEXT).  Anything else is a key of its own (page-without-loader:200,
-- nav-bad-location:303, other:500, ...).  done() also prints SOAK-SUMMARY
-- with wrk's totals, socket errors and latency percentiles.

local counter = 0
local threads = {}

function setup(thread)
   thread:set("id", counter)
   threads[#threads + 1] = thread
   counter = counter + 1
end

local function tickets(prefix)
   local out = {}
   if prefix == nil or prefix == "-" then
      return out
   end
   for line in io.lines(prefix .. "-" .. id .. ".txt") do
      if #line > 0 then
         out[#out + 1] = line
      end
   end
   return out
end

function init(args)
   scripts = tickets(args[1])
   navs = tickets(args[2])
   mix = args[3] or "psn"
   a_cookie = args[4]
   b_cookie = args[5]
   next_path = args[6] or "/"
   local port = args[7]
   local ready = args[8]
   conn_close = args[9] == "close"
   if b_cookie == "-" then
      b_cookie = nil
   end
   referer = "http://a.test/pages/page.html"   -- the entry http://a.test: port 80
   si, ni, step = 1, 1, 0
   counts = {}
   if ready and ready ~= "-" then
      io.open(ready .. "-" .. id, "w"):close()
   end
end

local function headers(h)
   if conn_close then
      h["Connection"] = "close"
   end
   return h
end

local function count(key)
   counts[key] = (counts[key] or 0) + 1
end

local function page()
   count("sent:page")
   return wrk.format("GET", "/pages/page.html",
                     headers({ Host = "a.test", Cookie = a_cookie }))
end

function request()
   step = step + 1
   local pos = (step - 1) % #mix + 1
   local kind = mix:sub(pos, pos)
   if kind == "s" then
      local t = scripts[si]
      if t == nil then
         count("exhausted:script")
         return page()
      end
      si = si + 1
      count("sent:script")
      return wrk.format("GET", "/shared-session/" .. t .. ".js",
                        headers({ Host = "b.test", Referer = referer }))
   elseif kind == "n" then
      local t = navs[ni]
      if t == nil then
         count("exhausted:nav")
         return page()
      end
      ni = ni + 1
      count("sent:nav")
      local h = { Host = "b.test", Referer = referer }
      if b_cookie then
         h["Cookie"] = b_cookie
      end
      return wrk.format("GET", "/shared-session/" .. t, headers(h))
   end
   return page()
end

function response(status, headers, body)
   local loc = headers["Location"] or headers["location"]
   local ct = headers["Content-Type"] or headers["content-type"] or ""
   local kind
   if loc then
      kind = "nav"
      if status == 303 and loc ~= next_path then
         kind = "nav-bad-location"
      end
   elseif ct:find("text/javascript", 1, true) then
      kind = "script"
      if body and #body > 0 then
         kind = "script-with-body"
      end
   elseif ct:find("text/html", 1, true) then
      kind = "page"
      if status == 200 and not (body and body:find("/shared-session/", 1, true)) then
         kind = "page-without-loader"
      end
   else
      kind = "other"
   end
   count(kind .. ":" .. status)
end

function done(summary, latency, requests)
   local total = {}
   for _, t in ipairs(threads) do
      local c = t:get("counts")
      if c then
         for k, v in pairs(c) do
            total[k] = (total[k] or 0) + v
         end
      end
   end
   local keys = {}
   for k in pairs(total) do
      keys[#keys + 1] = k
   end
   table.sort(keys)
   io.write("SOAK-COUNTS")
   for _, k in ipairs(keys) do
      io.write(string.format("\t%s=%d", k, total[k]))
   end
   io.write("\n")
   local e = summary.errors
   io.write(string.format(
      "SOAK-SUMMARY\trequests=%d\tduration_us=%d\tbytes=%d\tconnect=%d\tread=%d\t" ..
      "write=%d\tstatus=%d\ttimeout=%d\tlat_mean_us=%d\tlat_p50_us=%d\t" ..
      "lat_p99_us=%d\tlat_max_us=%d\n",
      summary.requests, summary.duration, summary.bytes, e.connect, e.read,
      e.write, e.status, e.timeout, latency.mean, latency:percentile(50),
      latency:percentile(99), latency.max))
end
