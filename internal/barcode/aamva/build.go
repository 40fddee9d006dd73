package aamva

import (
	"bytes"
	"fmt"
)

// Element is one data element to write with Build.
type Element struct{ Code, Value string }

// Subfile is one subfile to write with Build: "DL", "ID" or a
// jurisdiction's "Z?", and its elements in order.
type Subfile struct {
	Type     string
	Elements []Element
}

// Build lays barcode data out as Annex D prescribes: the header ("@", LF,
// RS, CR, "ANSI ", IIN, version, jurisdiction version from version 2 on,
// number of entries), designators with true offsets and lengths, then each
// subfile's elements separated by LF and ended by CR. It makes test
// inputs (generated licences to print as PDF417); nothing in Visage
// issues cards.
func Build(iin string, version, jurisdictionVersion int, subfiles ...Subfile) []byte {
	bodies := make([][]byte, len(subfiles))
	for i, s := range subfiles {
		var b bytes.Buffer
		b.WriteString(s.Type)
		for j, e := range s.Elements {
			b.WriteString(e.Code)
			b.WriteString(e.Value)
			if j < len(s.Elements)-1 {
				b.WriteByte(dataElementSeparator)
			}
		}
		b.WriteByte(segmentTerminator)
		bodies[i] = b.Bytes()
	}
	var h bytes.Buffer
	h.WriteString("@\n\x1e\rANSI ")
	h.WriteString(iin)
	fmt.Fprintf(&h, "%02d", version)
	if version >= 2 {
		fmt.Fprintf(&h, "%02d", jurisdictionVersion)
	}
	fmt.Fprintf(&h, "%02d", len(subfiles))
	off := h.Len() + 10*len(subfiles)
	for i, s := range subfiles {
		fmt.Fprintf(&h, "%-2.2s%04d%04d", s.Type, off, len(bodies[i]))
		off += len(bodies[i])
	}
	for _, b := range bodies {
		h.Write(b)
	}
	return h.Bytes()
}
