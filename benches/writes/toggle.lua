-- REST toggle: a random task of a random user of 1,000 (ids from the seed, 50 per user).
-- (run.sh's; writes.lua is the same with options and a random seed per thread.)
dofile("benches/writes/common.lua")
request = function()
  return rest_toggle(a_user())
end
