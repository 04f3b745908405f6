-- REST create: a random user of 1,000 per request, with that user's token.
-- (run.sh's; writes.lua is the same with options and a random seed per thread.)
dofile("benches/writes/common.lua")
local counter = 0
request = function()
  counter = counter + 1
  return rest_create(a_user(), counter)
end
