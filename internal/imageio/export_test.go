package imageio

// For the external tests: the standard-decoder plan for an image, even in
// a TurboJPEG build, and running a plan.
func GoPlan(p Plan) (Plan, error)                       { return p.fallback() }
func RunPlan(p Plan, data []byte) (*Image, Info, error) { return p.run(data) }

// TurboAt decodes with TurboJPEG at the factor num/8, no shrinking after.
func TurboAt(data []byte, num int) (*Image, error) {
	h, err := Probe(data)
	if err != nil {
		return nil, err
	}
	s := scaleFactor{num, 8}
	img := NewImage(s.scaled(h.Width), s.scaled(h.Height))
	return img, turboDecode(data, h, s, img)
}

// TurboBuilt reports whether this build has TurboJPEG.
const TurboBuilt = turboAvailable
