-- wrk: POST a new contact per request, each with a name and email no other request uses.
-- Arguments (after --): a prefix unique to the run, e.g. the round.
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  prefix = (args[1] or "bench") .. "-" .. tid
  counter = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"name":"Bench %s %d","email":"%s-%d@bench.example"}', prefix, counter, prefix, counter
  )
  return wrk.format(nil, nil, nil, body)
end
