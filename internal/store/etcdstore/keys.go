package etcdstore

import (
	"fmt"
	"strings"

	"github.com/dnslb/dnslb/internal/record"
)

// keys builds and parses the etcd keys under one prefix.
type keys struct{ prefix string }

func (k keys) zone(name string) string { return k.prefix + "z/" + name }
func (k keys) zones() string           { return k.prefix + "z/" }
func (k keys) log() string             { return k.prefix + "log" }

// set is the key of record set key.
func (k keys) set(key record.Key) string {
	return k.prefix + "s/" + key.Zone + "\x00" + key.Name + "\x00" + string(key.Type) + "\x00" + key.SetID
}

// setsOf is the key prefix of zone's sets, or of name's in zone when name
// is not empty.
func (k keys) setsOf(zone, name string) string {
	p := k.prefix + "s/" + zone + "\x00"
	if name != "" {
		p += name + "\x00"
	}
	return p
}

// parseSet reads a set key back.
func (k keys) parseSet(key string) (record.Key, error) {
	parts := strings.Split(strings.TrimPrefix(key, k.prefix+"s/"), "\x00")
	if len(parts) != 4 || !strings.HasPrefix(key, k.prefix+"s/") {
		return record.Key{}, fmt.Errorf("etcdstore: malformed set key %q", key)
	}
	return record.Key{Zone: parts[0], Name: parts[1], Type: record.Type(parts[2]), SetID: parts[3]}, nil
}
