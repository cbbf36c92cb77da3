-- Appended to every wrk run of `make bench`: one machine-readable line with the figures.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d p95_us=%d non2xx=%d socket_errors=%d\n",
    summary.requests, summary.duration, latency:percentile(95), e.status,
    e.connect + e.read + e.write + e.timeout))
end
