package sessions

import (
	"context"
	"sync"
)

// memoryUsers is the memory store's per-user index: for each principal,
// the keys of its records.
//
// Its lock comes before any shard's: creating a bound record (Save with New
// and a Principal), listing and deleting a user's sessions hold it
// throughout, so a deletion and a concurrent login are serialized and a
// live bound record is always in the index. Removing a record takes it out
// of the index afterwards, once no shard lock is held (MemoryStore.forget);
// until then the index may name a record that is gone, which every reader
// checks for and drops.
type memoryUsers struct {
	mu          sync.Mutex
	byPrincipal map[string]map[[32]byte]struct{}
}

// memoryBinding is a removed record's entry in the index.
type memoryBinding struct {
	principal string
	key       [32]byte
}

// add files key under principal. The caller holds u.mu.
func (u *memoryUsers) add(principal string, key [32]byte) {
	if u.byPrincipal == nil {
		u.byPrincipal = make(map[string]map[[32]byte]struct{})
	}
	keys := u.byPrincipal[principal]
	if keys == nil {
		keys = make(map[[32]byte]struct{})
		u.byPrincipal[principal] = keys
	}
	keys[key] = struct{}{}
}

// drop takes key out of principal's entry. The caller holds u.mu.
func (u *memoryUsers) drop(principal string, key [32]byte) {
	keys := u.byPrincipal[principal]
	delete(keys, key)
	if len(keys) == 0 {
		delete(u.byPrincipal, principal)
	}
}

// forget takes removed records out of the index, unless their key holds
// a record of the same user again (a Save with New under the same id).
func (s *MemoryStore) forget(gone []memoryBinding) {
	if len(gone) == 0 {
		return
	}
	s.users.mu.Lock()
	defer s.users.mu.Unlock()
	for _, b := range gone {
		if _, ok := s.liveBound(b.principal, b.key); !ok {
			s.users.drop(b.principal, b.key)
		}
	}
}

// liveBound returns the metadata of the live record under key if it is
// bound to principal. The caller holds s.users.mu.
func (s *MemoryStore) liveBound(principal string, key [32]byte) (Record, bool) {
	sh := s.shard(key)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	r := sh.items[key]
	if r == nil || r.expires <= s.now().UnixNano() {
		return Record{}, false
	}
	head, _ := splitData(r.data)
	if head.principal != principal {
		return Record{}, false
	}
	return r.meta(head), true
}

// userRecords returns principal's live records and their keys, and drops
// the index entries of dead ones. The caller holds s.users.mu.
func (s *MemoryStore) userRecords(principal string) ([]Record, [][32]byte) {
	keys := s.users.byPrincipal[principal]
	recs := make([]Record, 0, len(keys))
	live := make([][32]byte, 0, len(keys))
	for key := range keys {
		rec, ok := s.liveBound(principal, key)
		if !ok {
			s.users.drop(principal, key)
			continue
		}
		recs = append(recs, rec)
		live = append(live, key)
	}
	return recs, live
}

// UserTag implements UserStore: the memory store needs no tag.
func (s *MemoryStore) UserTag(context.Context, string) (string, error) {
	return "", nil
}

// LoadUserSessions implements UserStore.
func (s *MemoryStore) LoadUserSessions(_ context.Context, principal string) ([]Record, error) {
	s.users.mu.Lock()
	defer s.users.mu.Unlock()
	recs, _ := s.userRecords(principal)
	return recs, nil
}

// DeleteUserSessions implements UserStore.
func (s *MemoryStore) DeleteUserSessions(_ context.Context, principal string, sel UserSelection) (int, error) {
	s.users.mu.Lock()
	ended := s.deleteUser(principal, sel)
	s.users.mu.Unlock()
	if sel.Deleted != nil {
		for _, uuid := range ended {
			sel.Deleted(uuid)
		}
	}
	return len(ended), nil
}

// deleteUser deletes the sessions of principal that sel picks and returns
// their UUIDs. The caller holds s.users.mu.
func (s *MemoryStore) deleteUser(principal string, sel UserSelection) (ended []string) {
	recs, keys := s.userRecords(principal)
	var gone []memoryBinding // the bindings are dropped right here
	for _, i := range sel.pick(recs) {
		sh := s.shard(keys[i])
		sh.mu.Lock()
		if r := sh.items[keys[i]]; r != nil {
			sh.remove(r, &gone)
			ended = append(ended, recs[i].UUID)
		}
		sh.mu.Unlock()
		s.users.drop(principal, keys[i])
	}
	return ended
}

var _ UserStore = (*MemoryStore)(nil)
