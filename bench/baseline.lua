-- The baseline: the same POST body against nginx `return 200`.
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/plain"
wrk.body = '{"account":"acc_bench","url":"https://bench.example/landing?utm_source=google&utm_medium=cpc&utm_campaign=bench&utm_term=plumber&gclid=BENCH","referrer":"https://www.google.com/"}'

function done(summary, latency, requests)
  io.write(string.format("RESULT %.0f %.3f %.3f %d %d\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
