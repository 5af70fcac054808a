package dnsserver

import (
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestMmsghdrLayout holds mmsghdr to C's struct mmsghdr on this
// architecture: the msghdr, then msg_len right after it, the whole padded
// to the alignment of a pointer. CI runs the package's tests on 386 too,
// where a hand-written pad once made batches unreadable.
func TestMmsghdrLayout(t *testing.T) {
	var m mmsghdr
	ptr := unsafe.Sizeof(uintptr(0))
	want := (unsafe.Sizeof(unix.Msghdr{}) + 4 + ptr - 1) / ptr * ptr
	if got := unsafe.Sizeof(m); got != want {
		t.Errorf("sizeof(mmsghdr) = %d, want %d (C's layout on %d-bit)", got, want, 8*ptr)
	}
	if got, want := unsafe.Offsetof(m.len), unsafe.Sizeof(unix.Msghdr{}); got != want {
		t.Errorf("offsetof(msg_len) = %d, want %d", got, want)
	}
}
