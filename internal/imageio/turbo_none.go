package imageio

import "errors"

// Without TurboJPEG every image takes the standard decoders.
const turboAvailable = false

var turboFactors []scaleFactor

func turboDecode([]byte, Header, scaleFactor, *Image) error {
	return errors.New("built without turbojpeg")
}
