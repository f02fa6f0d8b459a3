-- bench/thread_create.lua — wrk script: POST /threads with a unique client-chosen thread_id per
-- request (wrk thread number + counter as a UUID) and a little metadata.
-- setup() runs in wrk's main Lua state; thread:set() makes `tid` a global of each thread's state.
local started = 0
local counter = 0

function setup(thread)
  started = started + 1
  thread:set("tid", started)
end

function init(args)
  wrk.method = "POST"
  wrk.path = "/threads"
  wrk.headers["Content-Type"] = "application/json"
  -- a per-run salt so reruns on the same data directory do not collide
  salt = math.floor(os.time() % 65536)
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"thread_id":"%08x-%04x-4000-8000-%012x","metadata":{"bench":true,"n":%d}}',
    tid, salt, counter, counter)
  return wrk.format(nil, nil, nil, body)
end
