-- REST create or toggle of a random user of 1,000, with that user's token:
--   wrk ... -s benches/writes/writes.lua URL -- create|toggle [watch=U:N] [skip=U]
-- watch=U:N: one request in N is user U's (the user a subscriber on another instance watches);
-- skip=U: never user U (the other instance's share of the load, so U's writes all go here).
dofile("benches/writes/common.lua")
local op, watch, every, skip = "create", nil, nil, nil
local counter = 0
function init(args)
  seed_thread()
  op = args[1] or "create"
  for i = 2, #args do
    local u, n = args[i]:match("^watch=(%d+):(%d+)$")
    if u then watch, every = tonumber(u), tonumber(n) end
    local s = args[i]:match("^skip=(%d+)$")
    if s then skip = tonumber(s) end
  end
end
request = function()
  counter = counter + 1
  local u = a_user()
  if watch and counter % every == 0 then u = watch end
  while skip and u == skip do u = a_user() end
  if op == "toggle" then return rest_toggle(u) end
  return rest_create(u, counter)
end
