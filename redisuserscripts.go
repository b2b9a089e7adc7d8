package sessions

import (
	"strconv"
	"time"
)

// The Lua scripts of RedisStore's per-user index (see redisusers.go). A
// logged-in user's record scripts are the anonymous ones, run as a function,
// followed by the index's upkeep in the same slot. Scripts that go from the
// index to the records name those keys themselves, since only the index
// knows them; they are all in the index's hash slot, which Redis Cluster
// allows.

// userIndexGrace is how much longer than each of its records a user's
// index is kept: every script that sets a record's expiry sets the index's
// to that expiry plus the grace when it would end sooner. It serves two
// ends. The sweep of expired sessions (redisevents.go) still finds the
// index, and the UUIDs in it, after its last record expired. And a record
// never outlives its index when a Cluster moves the slot: MIGRATE sends
// each key's TTL relative to the source's clock and the target adds its own
// clock to it, key by key (RESTORE without ABSTTL), so a moved key's expiry
// shifts later by its own transfer time, and a record and an index that
// expired in the same millisecond could come out a millisecond or more
// apart. On Redis before 7.2 PTTL also reads the clock on each call, so the
// two PTTLs of luaOutlive may straddle a millisecond; the grace absorbs
// that too.
const userIndexGrace = 24 * time.Hour

// luaOutlive keeps an index alive at least userIndexGrace longer than a
// record it holds, the record's expiry being at (Unix milliseconds). A
// record gone already (at in the past) does not move its index, unless the
// index has no TTL at all.
var luaOutlive = `
local grace = ` + strconv.FormatInt(userIndexGrace.Milliseconds(), 10) + `
local function outlive(idx, key, at)
  local left, need = redis.call('PTTL', idx), redis.call('PTTL', key)
  if left == -1 or (need >= 0 and left < need + grace) then
    redis.call('PEXPIREAT', idx, string.format('%.0f', tonumber(at) + grace))
  end
end
`

// luaEnded takes the entry of a dead record out of an index. When the
// entry holds the record's UUID, its field becomes 'x' followed by the
// member and its value the time, a colon and the UUID, so that the sweep
// reports the session as expired before it drops the entry; such entries
// older than a day are dropped without a report, so that an index that no
// process sweeps stays bounded. Scripts call these only once they have
// read every record they need: a record that cannot be read, or that may
// be on another server while its slot moves, fails the script first (see
// luaReadable and luaUnsettled), so that no live session is ever marked
// ended.
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

// luaIndexEntry is the value of a new record's index entry, its UUID field
// and value (@u and its 16 bytes, or @t and its text; 1 without one), and
// the principal, which the index keeps in its @w field for the sweep's
// reports, both read from a new record's fields in ARGV.
const luaIndexEntry = `
local function indexEntry()
  local u, w = '1', nil
  for p = 2, #ARGV - 1, 2 do
    local f = ARGV[p]
    if f == '@u' or f == '@t' then u = f .. ARGV[p + 1] elseif f == '@w' then w = ARGV[p + 1] end
  end
  return u, w
end

-- file files the record under key in idx.
local function file(idx, key)
  local u, w = indexEntry()
  redis.call('HSET', idx, key:sub(-32), u)
  if w then redis.call('HSET', idx, '@w', w) end
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
// it in the user's index (see luaIndexEntry), marking the entries of
// records that are gone as ended (see luaEnded). It reads the index's
// records before it writes anything, so that an error there (a record that
// a Cluster slot migration moved already) fails the script with nothing
// written rather than with a record missing from its index.
//
//	KEYS[1], KEYS[2]  the session key, the index
//	ARGV              as newScript's, with @w, @i and @a1… among the fields
var newUserScript = newRedisScript(luaOutlive + luaReadable + luaUnsettled + luaEnded + luaIndexEntry +
	"local function save()\n" + newLua + "\nend\n" + `
local key, idx = KEYS[1], KEYS[2]
local base = key:sub(1, #key - 32)
local at = now()
local dead, old = {}, {}
local all = redis.call('HGETALL', idx)
for i = 1, #all, 2 do
  local f, v = all[i], all[i + 1]
  if f:sub(1, 1) == 'x' then
    old[#old + 1] = {f, v}
  elseif #f == 32 and readable(redis.pcall('EXISTS', base .. f)) == 0 then
    missing(idx)
    dead[#dead + 1] = {f, v}
  end
end
for _, e in ipairs(old) do forgetOld(idx, e[1], e[2], at) end
for _, e in ipairs(dead) do ended(idx, e[1], e[2], at) end
local r = save()
file(idx, key)
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
//
// It answers the save's reply, then, when the save succeeded, the UUIDs of
// the sessions the cap deleted, each as its field (@u or @t) and that
// field's value.
var loginCapScript = newRedisScript(luaOutlive + luaLiveUsers + luaDeletePicked + luaIndexEntry +
	"local function save()\n" + newLua + "\nend\n" + `
local keep = table.remove(ARGV)
local uuidValue = table.remove(ARGV)
local uuidName = table.remove(ARGV)
local principal = table.remove(ARGV)
local at = tonumber(table.remove(ARGV))
local key, idx = KEYS[1], KEYS[2]
local records, base = live(idx, principal, at)
local r = save()
if r ~= 'OK' then return {r} end
file(idx, key)
outlive(idx, key, ARGV[1])
local out = deletePicked(idx, base, records, '', '', uuidName, uuidValue, keep)
table.insert(out, 1, r)
return out
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

// luaDropEmpty deletes an index that holds nothing but its principal, as
// Redis deletes a hash whose last field is gone.
const luaDropEmpty = `
local function dropEmpty(idx)
  if redis.call('HLEN', idx) == 1 and redis.call('HEXISTS', idx, '@w') == 1 then redis.call('DEL', idx) end
end
`

// deleteUserRecordScript deletes a user's record and its entry in the
// index, and answers 1 if the record was there, 0 if not. The entry is
// dropped, not marked ended: a deleted session has no expiry to report.
//
//	KEYS[1]  the session key
var deleteUserRecordScript = newRedisScript(luaIndexOf + luaReadable + luaDropEmpty + `
local key = KEYS[1]
local idx = indexOf(key)
-- Fails before the DEL when the index is on another server (its slot
-- moving), so that no record is deleted with its entry left behind.
if idx then readable(redis.pcall('EXISTS', idx)) end
local n = redis.call('DEL', key)
if idx then
  redis.call('HDEL', idx, key:sub(-32))
  dropEmpty(idx)
end
return n
`)

// luaLiveUsers reads the live records of an index, marking the entries of
// dead ones as ended (see luaEnded) and dropping those of records that are
// not the user's or are malformed.
const luaLiveUsers = luaReadable + luaUnsettled + luaEnded + `
-- The fields a listing returns, @w first.
local fields = {'@w', '@c', '@s', '@l', '@x', '@p', '@u', '@t', '@i', '@a1', '@a2', '@a3', '@a4'}

-- live returns the records in idx of principal that expire after at, each
-- as {member, values of fields}, and takes every other entry out: a record
-- gone or expired is marked ended (see luaEnded), one that is not the
-- user's or is malformed is dropped, and ended entries older than a day
-- are forgotten. A record that cannot be read for another reason than its
-- type fails the script (see readable), and so does a missing one while
-- the slot moves (see missing), before anything is written: an error is
-- not a dead record.
local function live(idx, principal, at)
  local base = idx:sub(1, #idx - 41)
  local out, dead, drop, old = {}, {}, {}, {}
  local all = redis.call('HGETALL', idx)
  for i = 1, #all, 2 do
    local m, u = all[i], all[i + 1]
    if m:sub(1, 1) == 'x' then
      old[#old + 1] = {m, u}
    elseif #m == 32 then
      local v = readable(redis.pcall('HMGET', base .. m, unpack(fields)))
      local c, x = tonumber(v[2]), tonumber(v[5])
      if v.err then
        drop[#drop + 1] = m
      elseif not v[1] and not c and not x then
        missing(idx)
        dead[#dead + 1] = {m, u} -- gone: its TTL ran out
      elseif v[1] ~= principal or not c or not x then
        drop[#drop + 1] = m
      elseif (tonumber(v[3]) or c) + x <= at then
        dead[#dead + 1] = {m, u}
      else
        out[#out + 1] = {m, v}
      end
    end
  end
  for _, e in ipairs(old) do forgetOld(idx, e[1], e[2], at) end
  for _, m in ipairs(drop) do redis.call('HDEL', idx, m) end
  for _, e in ipairs(dead) do ended(idx, e[1], e[2], at) end
  return out, base
end
`

// luaDeletePicked deletes the records that a UserSelection picks among
// those live returned.
const luaDeletePicked = luaDropEmpty + `
-- uuidIs reports whether a record's UUID is the one in field f, value u.
local function uuidIs(v, f, u)
  if f == '@u' then return v[7] == u end
  return v[8] == u
end

-- deletePicked deletes the records whose UUID is onlyV in field onlyF (any
-- for ''), but the one whose UUID is exceptV in field exceptF (none for
-- ''), sparing the keep most recently seen; it answers their UUIDs, each
-- as its field (@u or @t) and value, and drops the index when nothing of
-- the user's is left in it.
local function deletePicked(idx, base, records, onlyF, onlyV, exceptF, exceptV, keep)
  local picked = {}
  for _, r in ipairs(records) do
    local v = r[2]
    if (onlyF == '' or uuidIs(v, onlyF, onlyV)) and (exceptF == '' or not uuidIs(v, exceptF, exceptV)) then
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
  local deleted = {}
  for i = tonumber(keep) + 1, #picked do
    redis.call('DEL', base .. picked[i].m)
    redis.call('HDEL', idx, picked[i].m)
    deleted[#deleted + 1] = picked[i].text and '@t' or '@u'
    deleted[#deleted + 1] = picked[i].uuid
  end
  dropEmpty(idx)
  return deleted
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
