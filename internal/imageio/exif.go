package imageio

import (
	"bytes"
	"encoding/binary"
)

// This file reads the one EXIF field the engine needs, the orientation
// (tag 0x0112 in IFD0), and nothing else. A general EXIF library once let
// a 20 KB JPEG kill the process: it computed a tag's byte size in 32 bits,
// a RATIONAL tag with count 0xE0000001 wrapped past its bounds check, and
// it then allocated ~90 GB. Here every offset and count is checked against
// the bytes actually present, nothing is allocated (the EXIF block is a
// sub-slice of the input) and any inconsistency means "as stored" (1).

const (
	tagOrientation = 0x0112
	typeShort      = 3
	ifdEntrySize   = 12
)

// orientation returns the EXIF orientation (1–8) of JPEG or WebP bytes,
// or 1 when there is none or it cannot be read.
func orientation(data []byte, format string) int {
	var tiff []byte
	switch format {
	case "jpeg":
		tiff = jpegEXIF(data)
	case "webp":
		tiff = webpEXIF(data)
	}
	return tiffOrientation(tiff)
}

var exifHeader = []byte("Exif\x00\x00")

// jpegEXIF returns the TIFF block of the first APP1 "Exif" segment before
// the first scan, or nil.
func jpegEXIF(data []byte) []byte {
	var found []byte
	walkJPEG(data, func(marker byte, payload []byte) bool {
		if marker == 0xE1 && bytes.HasPrefix(payload, exifHeader) {
			found = payload[len(exifHeader):]
			return false
		}
		return true
	})
	return found
}

// walkJPEG calls fn with each marker segment's marker byte and payload
// (the bytes after the 2-byte length) from the SOI up to and including the
// first SOS, stopping early when fn returns false. It returns the offset
// just past the last segment it visited (after an SOS, where the
// entropy-coded data begins). Segments whose length runs past the input
// end the walk: a truncated header has nothing trustworthy after it.
// Every step advances, so the walk is linear in the input.
func walkJPEG(data []byte, fn func(marker byte, payload []byte) bool) int {
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return 0
	}
	i := 2
	for i+4 <= len(data) {
		if data[i] != 0xFF {
			// Junk between segments: libjpeg warns and image/jpeg skips it,
			// so skip to the next marker as they do.
			j := bytes.IndexByte(data[i:], 0xFF)
			if j < 0 {
				return len(data)
			}
			i += j
			continue
		}
		marker := data[i+1]
		switch {
		case marker == 0xFF: // fill byte before a marker
			i++
			continue
		case marker == 0x01 || marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7):
			i += 2 // markers without a length
			continue
		case marker == 0xD9:
			return i
		}
		n := int(binary.BigEndian.Uint16(data[i+2:]))
		if n < 2 || i+2+n > len(data) {
			return i
		}
		more := fn(marker, data[i+4:i+2+n])
		i += 2 + n
		if !more || marker == 0xDA {
			return i
		}
	}
	return i
}

// webpEXIF returns the payload of the RIFF "EXIF" chunk, or nil. Some
// writers (older libwebp tools among them) keep JPEG's "Exif\0\0" prefix
// inside the chunk, so it is dropped when present.
func webpEXIF(data []byte) []byte {
	if len(data) < 12 || string(data[0:4]) != "RIFF" || string(data[8:12]) != "WEBP" {
		return nil
	}
	end := len(data)
	if n := int64(binary.LittleEndian.Uint32(data[4:8])) + 8; n < int64(end) {
		end = int(n)
	}
	for i := 12; i+8 <= end; {
		size := int64(binary.LittleEndian.Uint32(data[i+4:]))
		if size > int64(end-i-8) {
			return nil
		}
		payload := data[i+8 : i+8+int(size)]
		if string(data[i:i+4]) == "EXIF" {
			return bytes.TrimPrefix(payload, exifHeader)
		}
		i += 8 + int(size) + int(size&1) // chunks are padded to even length
	}
	return nil
}

// tiffOrientation reads tag 0x0112 from IFD0 of a TIFF block. Only IFD0 is
// read, so IFD chains (and loops in them) are never followed; the value of
// a SHORT with count 1 sits inside the entry, so no offset is followed
// either.
func tiffOrientation(tiff []byte) int {
	if len(tiff) < 8 {
		return 1
	}
	var order binary.ByteOrder
	switch string(tiff[0:2]) {
	case "II":
		order = binary.LittleEndian
	case "MM":
		order = binary.BigEndian
	default:
		return 1
	}
	if order.Uint16(tiff[2:]) != 42 {
		return 1
	}
	ifd := int64(order.Uint32(tiff[4:]))
	if ifd < 8 || ifd > int64(len(tiff))-2 {
		return 1
	}
	entries := tiff[ifd+2:]
	n := int(order.Uint16(tiff[ifd:]))
	if n > len(entries)/ifdEntrySize {
		return 1
	}
	for k := 0; k < n; k++ {
		e := entries[k*ifdEntrySize : (k+1)*ifdEntrySize]
		if order.Uint16(e[0:]) != tagOrientation {
			continue
		}
		if order.Uint16(e[2:]) != typeShort || order.Uint32(e[4:]) != 1 {
			return 1
		}
		if v := int(order.Uint16(e[8:])); v >= 1 && v <= 8 {
			return v
		}
		return 1
	}
	return 1
}
