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

// luaReadable fails the script on a reply that is an error other than
// WRONGTYPE: a record of the index that cannot be read here (a Cluster
// slot half way through a migration answers "non local key", ASK or
// TRYAGAIN) is not a dead record. The error starts with TRYAGAIN, which
// the Cluster client retries and the store reports as ErrUnavailable.
const luaReadable = `
local function readable(v)
  if type(v) == 'table' and v.err and string.sub(v.err, 1, 9) ~= 'WRONGTYPE' then
    error({err = 'TRYAGAIN ' .. v.err})
  end
  return v
end
`

// luaUnsettled tells a record that is missing from one that is elsewhere:
// while a Cluster moves the index's hash slot, the server that imports it
// answers for keys that have not arrived yet as if they were missing, so a
// missing record proves nothing and the script fails with TRYAGAIN instead
// of dropping its entry. Outside a Cluster a missing record is dead. It
// reads CLUSTER NODES once per run, and only when a record is missing.
const luaUnsettled = `
local unsettledMemo
local function unsettled(idx)
  if unsettledMemo == nil then
    unsettledMemo = false
    local nodes = redis.pcall('CLUSTER', 'NODES')
    if type(nodes) == 'string' then
      local slot = redis.call('CLUSTER', 'KEYSLOT', idx)
      for line in nodes:gmatch('[^\n]+') do
        -- This server's line lists the slots it imports [n-<-id] or
        -- migrates [n->-id].
        if line:find('myself', 1, true) and line:find('[' .. slot .. '-', 1, true) then
          unsettledMemo = true
        end
      end
    end
  end
  return unsettledMemo
end

-- missing fails the script when a missing record of idx may be elsewhere.
local function missing(idx)
  if unsettled(idx) then
    error({err = 'TRYAGAIN a record of the index is on another server while its slot moves'})
  end
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
// it in the user's index, dropping the entries of records that are gone. It
// reads the index's records before it writes anything, so that an error
// there (a record that a Cluster slot migration moved already) fails the
// script with nothing written rather than with a record missing from its
// index.
//
//	KEYS[1], KEYS[2]  the session key, the index
//	ARGV              as newScript's, with @w, @i and @a1… among the fields
var newUserScript = newRedisScript(luaOutlive + luaReadable + luaUnsettled + "local function save()\n" + newLua + "\nend\n" + `
local key, idx = KEYS[1], KEYS[2]
local base = key:sub(1, #key - 32)
local dead = {}
for _, m in ipairs(redis.call('HKEYS', idx)) do
  if readable(redis.pcall('EXISTS', base .. m)) == 0 then
    missing(idx)
    dead[#dead + 1] = m
  end
end
for _, m in ipairs(dead) do redis.call('HDEL', idx, m) end
local r = save()
redis.call('HSET', idx, key:sub(-32), 1)
outlive(idx, key, ARGV[1])
return r
`)

// loginCapScript is newUserScript with Change.MaxUserSessions: in the same
// run it deletes the user's other sessions beyond the cap, as
// deleteUserScript does, so that concurrent logins of one user leave the
// cap's number of sessions. Every record of the index is read before
// anything is written.
//
//	KEYS[1], KEYS[2]  the session key, the index
//	ARGV              as newUserScript's, then now (Unix milliseconds),
//	                  the principal, the new record's UUID field and value,
//	                  and how many of the most recently seen others to
//	                  spare
var loginCapScript = newRedisScript(luaOutlive + luaLiveUsers + luaDeletePicked +
	"local function save()\n" + newLua + "\nend\n" + `
local keep = table.remove(ARGV)
local uuidValue = table.remove(ARGV)
local uuidName = table.remove(ARGV)
local principal = table.remove(ARGV)
local now = tonumber(table.remove(ARGV))
local key, idx = KEYS[1], KEYS[2]
local records, base = live(idx, principal, now)
local r = save()
redis.call('HSET', idx, key:sub(-32), 1)
outlive(idx, key, ARGV[1])
deletePicked(idx, base, records, '', '', uuidName, uuidValue, keep)
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
var touchUserScript = newRedisScript(luaOutlive + luaIndexOf + luaReadable + luaUnsettled + "local function touch()\n" + touchLua + "\nend\n" + `
-- The index is not a declared key: while its slot moves it may be on the
-- other server, and the record's new expiry must not outrun it.
local idx = indexOf(KEYS[1])
if idx and readable(redis.pcall('EXISTS', idx)) == 0 then missing(idx) end
local r = touch()
if r == 'OK' and idx then outlive(idx, KEYS[1], ARGV[3]) end
return r
`)

// deleteUserRecordScript deletes a user's record and its entry in the
// index, and answers 1 if the record was there, 0 if not.
//
//	KEYS[1]  the session key
var deleteUserRecordScript = newRedisScript(luaIndexOf + luaReadable + `
local key = KEYS[1]
local idx = indexOf(key)
-- Fails before the DEL when the index is on another server (its slot
-- moving), so that no record is deleted with its entry left behind.
if idx then readable(redis.pcall('EXISTS', idx)) end
local n = redis.call('DEL', key)
if idx then redis.call('HDEL', idx, key:sub(-32)) end
return n
`)

// luaLiveUsers reads the live records of an index, dropping the entries of
// the others.
const luaLiveUsers = luaReadable + luaUnsettled + `
-- The fields a listing returns, @w first.
local fields = {'@w', '@c', '@s', '@l', '@x', '@p', '@u', '@t', '@i', '@a1', '@a2', '@a3', '@a4'}

-- live returns the records in idx of principal that expire after now, each
-- as {member, values of fields}, and drops every other entry. A record
-- that cannot be read for another reason than its type fails the script
-- (see readable) before anything is written: an error is not a dead
-- record.
local function live(idx, principal, now)
  local base = idx:sub(1, #idx - 41)
  local out, dead = {}, {}
  for _, m in ipairs(redis.call('HKEYS', idx)) do
    local v = readable(redis.pcall('HMGET', base .. m, unpack(fields)))
    if not v.err and not v[1] and not v[2] and not v[5] then missing(idx) end
    local c, x = tonumber(v[2]), tonumber(v[5])
    if v.err or v[1] ~= principal or not c or not x or (tonumber(v[3]) or c) + x <= now then
      dead[#dead + 1] = m
    else
      out[#out + 1] = {m, v}
    end
  end
  for _, m in ipairs(dead) do redis.call('HDEL', idx, m) end
  return out, base
end
`

// luaDeletePicked deletes the records that a UserSelection picks among
// those live returned.
const luaDeletePicked = `
-- uuidIs reports whether a record's UUID is the one in field f, value u.
local function uuidIs(v, f, u)
  if f == '@u' then return v[7] == u end
  return v[8] == u
end

-- deletePicked deletes the records whose UUID is onlyV in field onlyF (any
-- for ''), but the one whose UUID is exceptV in field exceptF (none for
-- ''), sparing the keep most recently seen; it answers how many.
local function deletePicked(idx, base, records, onlyF, onlyV, exceptF, exceptV, keep)
  local picked = {}
  for _, r in ipairs(records) do
    local v = r[2]
    if (onlyF == '' or uuidIs(v, onlyF, onlyV)) and (exceptF == '' or not uuidIs(v, exceptF, exceptV)) then
      local saved = tonumber(v[3]) or tonumber(v[2])
      picked[#picked + 1] = {m = r[1], seen = saved + (tonumber(v[4]) or 0), created = tonumber(v[2]), uuid = v[7] or v[8] or ''}
    end
  end
  -- Most recently seen first, as the package orders a user's sessions.
  table.sort(picked, function(a, b)
    if a.seen ~= b.seen then return a.seen > b.seen end
    if a.created ~= b.created then return a.created > b.created end
    return a.uuid < b.uuid
  end)
  local n = 0
  for i = tonumber(keep) + 1, #picked do
    redis.call('DEL', base .. picked[i].m)
    redis.call('HDEL', idx, picked[i].m)
    n = n + 1
  end
  return n
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
// It answers how many records it deleted.
var deleteUserScript = newRedisScript(luaLiveUsers + luaDeletePicked + `
local idx = KEYS[1]
local records, base = live(idx, ARGV[2], tonumber(ARGV[1]))
return deletePicked(idx, base, records, ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7])
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
