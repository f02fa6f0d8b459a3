-- bench/store_put.lua — wrk script: PUT /store/items with a unique key per request
-- (wrk thread number + counter), spread over 16 namespaces.
-- setup() runs in wrk's main Lua state; thread:set() makes `tid` a global of each thread's state.
local started = 0
local counter = 0

function setup(thread)
  started = started + 1
  thread:set("tid", started)
end

function init(args)
  wrk.method = "PUT"
  wrk.path = "/store/items"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"namespace":["bench","ns%d"],"key":"t%d-%d","value":{"n":%d,"text":"a small memory"}}',
    counter % 16, tid, counter, counter)
  return wrk.format(nil, nil, nil, body)
end
