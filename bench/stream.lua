-- wrk script for ./dev bench R3 (large bodies): no response() hook, so wrk
-- does not keep the bodies; done() prints one line like requests.lua's.
function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "BENCH requests=%d duration_us=%d bytes=%d errors=%d status_errors=%d " ..
      "connect=%d read=%d write=%d timeout=%d " ..
      "used=0 wrapped=0 ok=0 p50_us=%d p99_us=%d\n",
      summary.requests, summary.duration, summary.bytes,
      e.connect + e.read + e.write + e.timeout, e.status,
      e.connect, e.read, e.write, e.timeout,
      latency:percentile(50), latency:percentile(99)))
end
