package sessions

// The Lua scripts of RedisStore's per-user index (see redisusers.go). A
// logged-in user's record scripts are the anonymous ones, run as a function,
// followed by the index's upkeep in the same slot. Scripts that go from the
// index to the records name those keys themselves, since only the index
// knows them; they are all in the index's hash slot, which Redis Cluster
// allows.

// luaOutlive keeps an index alive at least as long as a record it holds:
// the index's TTL never falls below the record's.
const luaOutlive = `
local function outlive(idx, key, at)
  local left = redis.call('PTTL', idx)
  if left == -1 or left < redis.call('PTTL', key) then redis.call('PEXPIREAT', idx, at) end
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
// it in the user's index, dropping the entries of records that are gone.
//
//	KEYS[1], KEYS[2]  the session key, the index
//	ARGV              as newScript's, with @w, @i and @a1… among the fields
var newUserScript = newRedisScript(luaOutlive + "local function save()\n" + newLua + "\nend\n" + `
local r = save()
local key, idx = KEYS[1], KEYS[2]
local base = key:sub(1, #key - 32)
for _, m in ipairs(redis.call('HKEYS', idx)) do
  if redis.call('EXISTS', base .. m) == 0 then redis.call('HDEL', idx, m) end
end
redis.call('HSET', idx, key:sub(-32), 1)
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

// deleteUserRecordScript deletes a user's record and its entry in the
// index.
//
//	KEYS[1]  the session key
var deleteUserRecordScript = newRedisScript(luaIndexOf + `
local key = KEYS[1]
local idx = indexOf(key)
redis.call('DEL', key)
if idx then redis.call('HDEL', idx, key:sub(-32)) end
return 1
`)

// luaLiveUsers reads the live records of an index, dropping the entries of
// the others.
const luaLiveUsers = `
-- The fields a listing returns, @w first.
local fields = {'@w', '@c', '@s', '@l', '@x', '@p', '@u', '@t', '@i', '@a1', '@a2', '@a3', '@a4'}

-- live returns the records in idx of principal that expire after now, each
-- as {member, values of fields}, and drops every other entry.
local function live(idx, principal, now)
  local base = idx:sub(1, #idx - 41)
  local out = {}
  for _, m in ipairs(redis.call('HKEYS', idx)) do
    local v = redis.pcall('HMGET', base .. m, unpack(fields))
    local c, x = tonumber(v[2]), tonumber(v[5])
    if v.err or v[1] ~= principal or not c or not x or (tonumber(v[3]) or c) + x <= now then
      redis.call('HDEL', idx, m)
    else
      out[#out + 1] = {m, v}
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
var deleteUserScript = newRedisScript(luaLiveUsers + `
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
