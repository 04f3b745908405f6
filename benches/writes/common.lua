-- Shared by writes.lua and mix.lua (loaded with dofile from the repository's root): the
-- users' tokens (line n+1 of tokens.txt is u<n>'s), each user's seeded task ids, a per-thread
-- random seed (LuaJIT's math.random starts every thread, and every wrk process, on the same
-- sequence otherwise), and the GraphQL answers carrying "errors", summed over the threads.
tokens, ids = {}, {}
for line in io.lines("benches/writes/tokens.txt") do tokens[#tokens + 1] = line end
for line in io.lines("benches/writes/ids.txt") do
  local u, id = line:match("(%d+) (%d+)")
  u = tonumber(u)
  ids[u] = ids[u] or {}
  table.insert(ids[u], id)
end

local threads = {}
function setup(thread)
  threads[#threads + 1] = thread
  thread:set("thread_number", #threads)
end

function seed_thread()
  math.randomseed(os.time() * 1000 + (thread_number or 0) * 7919 + math.floor(os.clock() * 1e6))
  errors = 0
end

function a_user() return math.random(0, #tokens - 1) end
function a_task(u) return ids[u][math.random(1, #ids[u])] end

-- The REST writes and reads of user u.
function rest_create(u, n)
  local headers = { ["Authorization"] = "Bearer " .. tokens[u + 1], ["Content-Type"] = "application/json" }
  return wrk.format("POST", "/api/u" .. u .. "/tasks", headers, '{"title": "bench ' .. n .. '"}')
end
function rest_toggle(u)
  local headers = { ["Authorization"] = "Bearer " .. tokens[u + 1] }
  return wrk.format("PATCH", "/api/u" .. u .. "/tasks/" .. a_task(u) .. "/complete", headers)
end
function rest_list(u)
  return wrk.format("GET", "/api/u" .. u .. "/tasks", { ["Authorization"] = "Bearer " .. tokens[u + 1] })
end

-- A GraphQL answer with "errors" counts as one error (wrk only counts statuses).
function count_errors(status, headers, body)
  if body and body:find('"errors"', 1, true) then errors = errors + 1 end
end

function done(summary, latency, requests)
  if not response then return end
  local n = 0
  for _, thread in ipairs(threads) do n = n + (thread:get("errors") or 0) end
  io.write(string.format("Bodies with errors: %d\n", n))
end
