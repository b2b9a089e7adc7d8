package sessions

// The Lua scripts of RedisStore's per-user index (see redisusers.go). A
// logged-in user's record scripts are the anonymous ones, run as a function,
// followed by the index's upkeep in the same slot. Scripts that go from the
// index to the records name those keys themselves, since only the index
// knows them; they are all in the index's hash slot, which Redis Cluster
// allows.

// luaOutlive keeps an index alive a day longer than any record it holds,
// so that the sweep of expired sessions (redissweep.go) still finds the
// index, and the UUIDs in it, after the last record expired.
const luaOutlive = `
local grace = 86400000
local function outlive(idx, key, at)
  local left = redis.call('PTTL', idx)
  if left == -1 or left < redis.call('PTTL', key) + grace then
    redis.call('PEXPIREAT', idx, string.format('%.0f', tonumber(at) + grace))
  end
end
`

// luaEnded takes the entry of a dead record out of an index. When the
// entry holds the record's UUID, its field becomes 'x' followed by the
// member and its value the time, a colon and the UUID, so that the sweep
// reports the session as expired before it drops the entry; such entries
// older than a day are dropped without a report, so that an index that no
// process sweeps stays bounded.
const luaEnded = `
local keepEnded = 86400000
local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function ended(idx, m, u, at)
  redis.call('HDEL', idx, m)
  if u:sub(1, 1) == '@' then redis.call('HSET', idx, 'x' .. m, string.format('%.0f', at) .. ':' .. u) end
end
local function forgetOld(idx, f, v, at)
  local t = tonumber(v:match('^(%d+):'))
  if not t or t + keepEnded <= at then redis.call('HDEL', idx, f) end
end
`

// luaIndexOf finds the index of a record from the principal it holds,
// as userIndexKey does; nil for a record without one.
const luaIndexOf = `
local function indexOf(key)
  local p = redis.pcall('HGET', key, '@w')
  if type(p) ~= 'string' then return nil end
  return key:sub(1, #key - 32) .. 'u' .. redis.sha1hex(p)
end
`

// newUserScript writes a new record of a user, as newScript does, and files
// it in the user's index, marking the entries of records that are gone as
// ended (see luaEnded). The entry's value is the record's UUID field and
// value (@u and its 16 bytes, or @t and its text); the index's @w field
// holds the principal, for the sweep's reports.
//
//	KEYS[1], KEYS[2]  the session key, the index
//	ARGV              as newScript's, with @w, @i and @a1… among the fields
var newUserScript = newRedisScript(luaOutlive + luaEnded + "local function save()\n" + newLua + "\nend\n" + `
local r = save()
local key, idx = KEYS[1], KEYS[2]
local base = key:sub(1, #key - 32)
local at = now()
local all = redis.call('HGETALL', idx)
for i = 1, #all, 2 do
  local f, v = all[i], all[i + 1]
  if f:sub(1, 1) == 'x' then
    forgetOld(idx, f, v, at)
  elseif #f == 32 and redis.call('EXISTS', base .. f) == 0 then
    ended(idx, f, v, at)
  end
end
local u, w = '1', nil
for p = 2, #ARGV - 1, 2 do
  local f = ARGV[p]
  if f == '@u' or f == '@t' then u = f .. ARGV[p + 1] elseif f == '@w' then w = ARGV[p + 1] end
end
redis.call('HSET', idx, key:sub(-32), u)
if w then redis.call('HSET', idx, '@w', w) end
outlive(idx, key, ARGV[1])
return r
`)

// updateUserScript applies a change to a user's record, as updateScript
// does, and keeps the index alive as long as the record.
//
//	KEYS[1], KEYS[2]  the session key, the index
//	ARGV              as updateScript's, with @i among the fields to set
var updateUserScript = newRedisScript(luaOutlive + "local function save()\n" + updateLua + "\nend\n" + `
local r = save()
if r == 'OK' then outlive(KEYS[2], KEYS[1], ARGV[2]) end
return r
`)

// touchUserScript moves a user's record's expiry, as touchScript does, and
// keeps the index alive as long as the record.
//
//	KEYS[1]  the session key
//	ARGV     as touchScript's
var touchUserScript = newRedisScript(luaOutlive + luaIndexOf + "local function touch()\n" + touchLua + "\nend\n" + `
local r = touch()
if r == 'OK' then
  local idx = indexOf(KEYS[1])
  if idx then outlive(idx, KEYS[1], ARGV[3]) end
end
return r
`)

// luaDropEmpty deletes an index that holds nothing but its principal, as
// Redis deletes a hash whose last field is gone.
const luaDropEmpty = `
local function dropEmpty(idx)
  if redis.call('HLEN', idx) == 1 and redis.call('HEXISTS', idx, '@w') == 1 then redis.call('DEL', idx) end
end
`

// deleteUserRecordScript deletes a user's record and its entry in the
// index.
//
//	KEYS[1]  the session key
var deleteUserRecordScript = newRedisScript(luaIndexOf + luaDropEmpty + `
local key = KEYS[1]
local idx = indexOf(key)
redis.call('DEL', key)
if idx then
  redis.call('HDEL', idx, key:sub(-32))
  dropEmpty(idx)
end
return 1
`)

// luaLiveUsers reads the live records of an index, marking the entries
// of dead ones as ended (see luaEnded) and dropping those of records that
// are not the user's or are malformed.
const luaLiveUsers = luaEnded + `
-- The fields a listing returns, @w first.
local fields = {'@w', '@c', '@s', '@l', '@x', '@p', '@u', '@t', '@i', '@a1', '@a2', '@a3', '@a4'}

-- live returns the records in idx of principal that expire after now, each
-- as {member, values of fields}, and takes every other entry out.
local function live(idx, principal, now)
  local base = idx:sub(1, #idx - 41)
  local out = {}
  local all = redis.call('HGETALL', idx)
  for i = 1, #all, 2 do
    local m, u = all[i], all[i + 1]
    if m:sub(1, 1) == 'x' then
      forgetOld(idx, m, u, now)
    elseif #m == 32 then
      local v = redis.pcall('HMGET', base .. m, unpack(fields))
      local c, x = tonumber(v[2]), tonumber(v[5])
      if v.err then
        redis.call('HDEL', idx, m)
      elseif not v[1] and not c and not x then
        ended(idx, m, u, now) -- gone: its TTL ran out
      elseif v[1] ~= principal or not c or not x then
        redis.call('HDEL', idx, m)
      elseif (tonumber(v[3]) or c) + x <= now then
        ended(idx, m, u, now)
      else
        out[#out + 1] = {m, v}
      end
    end
  end
  return out, base
end
`

// listUserScript returns the live records of a user's index.
//
//	KEYS[1]  the index
//	ARGV     now (Unix milliseconds), the principal
//
// It answers one list per record: field, value, field, value…
var listUserScript = newRedisScript(luaLiveUsers + `
local rows = {}
for _, r in ipairs(live(KEYS[1], ARGV[2], tonumber(ARGV[1]))) do
  local row = {}
  for i, f in ipairs(fields) do
    if r[2][i] then
      row[#row + 1] = f
      row[#row + 1] = r[2][i]
    end
  end
  rows[#rows + 1] = row
end
return rows
`)

// deleteUserScript deletes the records of a user's index that a
// UserSelection picks.
//
//	KEYS[1]  the index
//	ARGV     now (Unix milliseconds), the principal, the UUID's field and
//	         value ("" for any), the spared UUID's field and value ("" for
//	         none), how many of the most recently seen others to spare
//
// It answers the UUIDs of the records it deleted, each as its field (@u or
// @t) and that field's value.
var deleteUserScript = newRedisScript(luaLiveUsers + luaDropEmpty + `
local idx = KEYS[1]
local records, base = live(idx, ARGV[2], tonumber(ARGV[1]))
-- uuidIs reports whether a record's UUID is the one in field f, value u.
local function uuidIs(v, f, u)
  if f == '@u' then return v[7] == u end
  return v[8] == u
end
local picked = {}
for _, r in ipairs(records) do
  local v = r[2]
  if (ARGV[3] == '' or uuidIs(v, ARGV[3], ARGV[4])) and (ARGV[5] == '' or not uuidIs(v, ARGV[5], ARGV[6])) then
    local saved = tonumber(v[3]) or tonumber(v[2])
    picked[#picked + 1] = {m = r[1], seen = saved + (tonumber(v[4]) or 0), created = tonumber(v[2]), uuid = v[7] or v[8] or '', text = not v[7]}
  end
end
-- Most recently seen first, as the package orders a user's sessions.
table.sort(picked, function(a, b)
  if a.seen ~= b.seen then return a.seen > b.seen end
  if a.created ~= b.created then return a.created > b.created end
  return a.uuid < b.uuid
end)
local ended = {}
for i = tonumber(ARGV[7]) + 1, #picked do
  redis.call('DEL', base .. picked[i].m)
  redis.call('HDEL', idx, picked[i].m)
  ended[#ended + 1] = picked[i].text and '@t' or '@u'
  ended[#ended + 1] = picked[i].uuid
end
dropEmpty(idx)
return ended
`)

// tagKeyScript returns the tag key, creating it with the value given when
// there is none.
//
//	KEYS[1]  the tag key
//	ARGV     a fresh random key
var tagKeyScript = newRedisScript(`
redis.call('SET', KEYS[1], ARGV[1], 'NX')
return redis.call('GET', KEYS[1])
`)
