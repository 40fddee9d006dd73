package imageio

// For the external tests: the standard-decoder plan for an image, even in
// a TurboJPEG build, and running a plan.
func GoPlan(p Plan) (Plan, error)                       { return p.fallback() }
func RunPlan(p Plan, data []byte) (*Image, Info, error) { return p.run(data) }
