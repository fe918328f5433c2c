package archive

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// Zip extra field IDs that carry timestamps.
var zipTimeFields = map[uint16]bool{
	0x5455: true, // extended timestamp (UT)
	0x000a: true, // NTFS times
	0x5855: true, // Info-ZIP Unix, old: atime, mtime, uid, gid
}

var zipExtraNames = map[uint16]string{
	0x0001: "zip64",
	0x000a: "NTFS",
	0x5455: "extended-timestamp",
	0x5855: "info-zip-unix-old",
	0x7855: "info-zip-unix",
	0x7875: "unix-uid-gid",
	0xcafe: "jar-marker",
}

// withoutFields returns extra without the fields whose IDs are in drop.
// A malformed tail is dropped too.
func withoutFields(extra []byte, drop map[uint16]bool) []byte {
	var out []byte
	for len(extra) >= 4 {
		id := binary.LittleEndian.Uint16(extra)
		size := int(binary.LittleEndian.Uint16(extra[2:]))
		if 4+size > len(extra) {
			break
		}
		if !drop[id] {
			out = append(out, extra[:4+size]...)
		}
		extra = extra[4+size:]
	}
	return out
}

func describeExtra(extra []byte) string {
	var names []string
	for len(extra) >= 4 {
		id := binary.LittleEndian.Uint16(extra)
		size := int(binary.LittleEndian.Uint16(extra[2:]))
		if 4+size > len(extra) {
			names = append(names, "malformed")
			break
		}
		if id != 0x0001 {
			name, ok := zipExtraNames[id]
			if !ok {
				name = fmt.Sprintf("0x%04x", id)
			}
			names = append(names, name)
		}
		extra = extra[4+size:]
	}
	return strings.Join(names, ", ")
}
