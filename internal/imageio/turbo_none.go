//go:build !cgo || purego

package imageio

import "errors"

// Built with -tags purego (or without cgo): every image takes the
// standard decoders.
const turboAvailable = false

func turboDecode([]byte, Header, scaleFactor, *Image) error {
	return errors.New("built without turbojpeg")
}
