package sessions

// The Lua scripts of RedisStore. They read and write the layout of
// redislayout.go; the store's fields hold integers, which the scripts compare
// and subtract as numbers (Lua's doubles hold every millisecond count
// exactly) without parsing any text.

// newScript replaces what is under the key of a new record, whatever its
// type, with the record: its fields, then the key's TTL. Save runs it only
// when its transaction found the key taken (see RedisStore.create).
//
//	KEYS[1]  the session key
//	ARGV     the PEXPIREAT milliseconds, then the field/value pairs
//
// It answers OK.
var newScript = newRedisScript(newLua)

const newLua = `
local key = KEYS[1]
redis.call('DEL', key)
-- A thousand arguments per HSET stay well below Lua's stack limit.
for p = 2, #ARGV, 1000 do
  redis.call('HSET', key, unpack(ARGV, p, math.min(p + 999, #ARGV)))
end
redis.call('PEXPIREAT', key, ARGV[1])
return 'OK'
`

// luaLive starts the scripts that change a stored record: the record must
// exist and be live, so that a record deleted meanwhile is never brought
// back. A key that is not a hash, or fields that are not numbers, count as
// missing: Load does not find such a record either. It leaves the record's
// HMGET reply in b, and its creation and last save in created and saved.
// It reads the same fields as saveTx, which does without a script.
//
//	ARGV[1]  now, in Unix milliseconds
const luaLive = `
local key = KEYS[1]
local b = redis.pcall('HMGET', key, '@c', '@s', '@x', '@l', '@p')
if b.err then return 'INTERRUPTED' end
local created, x = tonumber(b[1]), tonumber(b[3])
if not created or not x then return 'INTERRUPTED' end
local saved = tonumber(b[2]) or created
if saved + x <= tonumber(ARGV[1]) then return 'INTERRUPTED' end
`

// updateScript applies a Change to a live record atomically. The
// expectations of a conditional save are checked first, before anything is
// written. Increments run next, and a failed one puts back the fields
// incremented before it, so a failure leaves the record as it was. Values
// and bookkeeping are then written by one HSET, with the expiry turned into
// its offset from the save.
//
//	KEYS[1]  the session key
//	ARGV     now and the PEXPIREAT time (Unix milliseconds), the number of
//	         increments, the number of deletes, the number of expectations;
//	         then the field/value pairs expected ("" for a field expected
//	         absent), the field/delta pairs to increment, the fields to
//	         delete, and the field/value pairs to set, which start with @s
//	         and @x holding the save's and the expiry's Unix milliseconds,
//	         then @p when the policy is not 0
//
// It answers OK, INTERRUPTED (the record is missing or expired),
// "CONFLICT\nfield" (an expected field holds something else), or
// "NOTINTEGER reason\nfield" (the field last, as it may hold anything).
var updateScript = newRedisScript(updateLua)

const updateLua = luaLive + `

local expFirst = 6
local incFirst = expFirst + 2 * tonumber(ARGV[5])
local delFirst = incFirst + 2 * tonumber(ARGV[3])
local setFirst = delFirst + tonumber(ARGV[4])

-- A conditional save: the fields Update read must still hold what it read.
-- Values are kept as the text they were given, so text is compared.
for p = expFirst, incFirst - 1, 2 do
  if (redis.call('HGET', key, ARGV[p]) or '') ~= ARGV[p + 1] then
    return 'CONFLICT\n' .. ARGV[p]
  end
end

-- The last increment needs no copy of its field's value: when it fails,
-- nothing was done to that field.
local done = delFirst > incFirst and {}
for p = incFirst, delFirst - 1, 2 do
  local field = ARGV[p]
  local before = nil
  if p + 2 < delFirst then before = redis.call('HGET', key, field) end
  local r = redis.pcall('HINCRBY', key, field, ARGV[p + 1])
  if type(r) == 'table' and r.err then
    for q = #done, 1, -1 do
      if done[q][2] then
        redis.call('HSET', key, done[q][1], done[q][2])
      else
        redis.call('HDEL', key, done[q][1])
      end
    end
    return 'NOTINTEGER ' .. r.err .. '\n' .. field
  end
  done[#done + 1] = {field, before}
end

-- A save is also a sighting (@l back to 0), and a policy of 0 is left out.
if b[4] then redis.call('HDEL', key, '@l') end
if b[5] and ARGV[setFirst + 4] ~= '@p' then redis.call('HDEL', key, '@p') end

ARGV[setFirst + 3] = tonumber(ARGV[2]) - tonumber(ARGV[setFirst + 1])

-- Keeps each command's argument count well below Lua's stack limit.
local chunk = 1000
for p = delFirst, setFirst - 1, chunk do
  redis.call('HDEL', key, unpack(ARGV, p, math.min(p + chunk - 1, setFirst - 1)))
end
for p = setFirst, #ARGV, chunk do
  redis.call('HSET', key, unpack(ARGV, p, math.min(p + chunk - 1, #ARGV)))
end
redis.call('PEXPIREAT', key, ARGV[2])
return 'OK'
`

// touchScript moves the expiry of a live record and notes when it was seen:
// @l, @x and the key's TTL, nothing else. A missing or expired record is
// left alone.
//
//	KEYS[1]  the session key
//	ARGV     now, when the session was seen, and the PEXPIREAT time, all
//	         in Unix milliseconds
//
// It answers OK, or INTERRUPTED for a missing or expired record.
var touchScript = newRedisScript(touchLua)

const touchLua = luaLive + `
redis.call('HSET', key, '@l', tonumber(ARGV[2]) - saved, '@x', tonumber(ARGV[3]) - saved)
redis.call('PEXPIREAT', key, ARGV[3])
return 'OK'
`
