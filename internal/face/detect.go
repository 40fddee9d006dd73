package face

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/visagehq/visage/internal/imageio"
)

// maxStretch bounds how far the detector input may distort an image's
// aspect ratio. RFB-320 was trained on images stretched to 320×240, so
// moderate stretching is what it expects; beyond this the image is padded.
const maxStretch = 1.5

// retryMargin is the share of the window's width and height added on each
// side when the first detection pass finds nothing: the face then spans
// at most a third of the input, well inside the detector's anchor sizes.
// With 0.25 and edge repetition 6 glint-dev crops had no face; with grey
// padding 0.75 and 1.0 found them all (1.0 aligned them slightly better).
const retryMargin = 1.0

// Detect finds faces after score threshold, NMS and the minimum face size,
// most prominent first (see rank). When nothing is found it looks once
// more with a wide grey margin around the image (the detector was trained
// on faces with context and misses a face that fills a tight crop edge to
// edge), then, in a large image, tile by tile for a small face.
func (e *Engine) Detect(ctx context.Context, img *imageio.Image) ([]Detection, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	defer func(start time.Time) { e.observe("detect", time.Since(start)) }(time.Now())
	x0, y0, x1, y1 := detectorWindow(img.W, img.H, e.detAspect())
	dets, err := e.detectIn(img, x0, y0, x1, y1)
	if err != nil || len(dets) > 0 {
		return dets, err
	}
	mx, my := retryMargin*(x1-x0), retryMargin*(y1-y0)
	if dets, err = e.detectIn(img, x0-mx, y0-my, x1+mx, y1+my); err != nil || len(dets) > 0 {
		return dets, err
	}
	return e.detectTiled(img)
}

// tileSide is the source width of one window of the small-face pass: at
// the detector's 320 px input a face of min_face_px there is 40 px of the
// source, under 2 % of a 2400 px photo (the whole-image pass needs ~4 %).
const tileSide = 640.0

// maxTiles bounds the small-face pass (≈ 4 ms a window on 2 cores).
const maxTiles = 36

// detectTiled looks for faces too small for the whole-image pass, in
// windows of about tileSide overlapping by a quarter (a face up to a
// quarter of a window is whole in one of them). It runs only when the
// other passes found nothing, so a photo with a face pays nothing.
func (e *Engine) detectTiled(img *imageio.Image) ([]Detection, error) {
	W, H := float64(img.W), float64(img.H)
	tw := tileSide
	for {
		th := tw / e.detAspect()
		nx, ny := tilesAlong(W, tw), tilesAlong(H, th)
		if nx*ny <= maxTiles {
			break
		}
		tw *= 1.25
	}
	th := tw / e.detAspect()
	if W < 2*tw && H < 2*th {
		return nil, nil // the whole-image pass already saw it at tile resolution
	}
	var all []Detection
	for _, y := range tileStarts(H, th) {
		for _, x := range tileStarts(W, tw) {
			d, err := e.detectIn(img, x, y, x+tw, y+th)
			if err != nil {
				return nil, err
			}
			all = append(all, d...)
		}
	}
	all = nms(all, float64(e.det.model.NMSIoU))
	rank(all, img.W, img.H)
	return all, nil
}

func tilesAlong(extent, side float64) int { return len(tileStarts(extent, side)) }

// tileStarts are the offsets of windows of side covering [0, extent) with
// a quarter of overlap; the last one ends at the edge.
func tileStarts(extent, side float64) []float64 {
	if extent <= side {
		return []float64{0}
	}
	var out []float64
	for x := 0.0; x+side < extent; x += 0.75 * side {
		out = append(out, x)
	}
	return append(out, extent-side)
}

func (e *Engine) detAspect() float64 {
	return float64(e.det.model.Shape[3]) / float64(e.det.model.Shape[2])
}

// detectIn runs the detector on the source window [x0,x1]×[y0,y1], which
// may extend past the image (edge pixels repeat there).
func (e *Engine) detectIn(img *imageio.Image, x0, y0, x1, y1 float64) ([]Detection, error) {
	m := e.det.model
	inW, inH := int(m.Shape[3]), int(m.Shape[2])
	t := imageio.CropResize(x0, y0, x1, y1, inW, inH)
	in := img.Warp(t, inW, inH)
	// Outside the image the input is the normalisation's mean, which
	// reaches the network as zeros, like the zero padding at its training
	// images' borders. Repeating the edge pixels instead smears a face
	// that touches the border into streaks of skin and hair, and the
	// detector no longer sees where the face ends.
	fillOutside(in, t, img.W, img.H, uint8(min(255, max(0, m.Mean))))
	out, err := e.det.run(toTensor(in, m))
	if err != nil {
		return nil, fmt.Errorf("detect: %w", err)
	}
	scores, boxes := out[0], out[1]
	var dets []Detection
	minPx := float64(m.MinFacePx)
	for i := 0; i < len(scores)/2; i++ {
		s := scores[2*i+1]
		if s < m.ScoreThreshold {
			continue
		}
		b := boxes[4*i : 4*i+4]
		box := clipBox(Box{
			X1: x0 + float64(b[0])*(x1-x0), Y1: y0 + float64(b[1])*(y1-y0),
			X2: x0 + float64(b[2])*(x1-x0), Y2: y0 + float64(b[3])*(y1-y0),
		}, img.W, img.H)
		if box.W() < minPx || box.H() < minPx {
			continue
		}
		dets = append(dets, Detection{Box: box, Score: s})
	}
	dets = nms(dets, float64(m.NMSIoU))
	rank(dets, img.W, img.H)
	return dets, nil
}

// rank orders faces by area less twice the squared distance of the box
// centre from the image centre (InsightFace's rule): of two faces of
// similar size the one the camera points at is the subject, and a large
// blurry head at the edge of a crowd shot is not.
func rank(dets []Detection, w, h int) {
	key := func(b Box) float64 {
		dx := b.X1 + b.W()/2 - float64(w)/2
		dy := b.Y1 + b.H()/2 - float64(h)/2
		return b.area() - 2*(dx*dx+dy*dy)
	}
	sort.SliceStable(dets, func(i, j int) bool { return key(dets[i].Box) > key(dets[j].Box) })
}

// detectorWindow returns the source rectangle fed to the detector: the
// whole image, widened or heightened (grey padding, see detectIn) only as
// much as needed to keep the stretch within maxStretch.
func detectorWindow(w, h int, aspect float64) (x0, y0, x1, y1 float64) {
	fw, fh := float64(w), float64(h)
	r := (fw / fh) / aspect
	switch {
	case r > maxStretch: // too wide: grow height
		nh := fw / aspect / maxStretch
		return 0, -(nh - fh) / 2, fw, fh + (nh-fh)/2
	case r < 1/maxStretch: // too tall: grow width
		nw := fh * aspect / maxStretch
		return -(nw - fw) / 2, 0, fw + (nw-fw)/2, fh
	}
	return 0, 0, fw, fh
}

func clipBox(b Box, w, h int) Box {
	return Box{max(0, b.X1), max(0, b.Y1), min(float64(w), b.X2), min(float64(h), b.Y2)}
}

// nms is standard greedy non-maximum suppression by score.
func nms(dets []Detection, iou float64) []Detection {
	sort.SliceStable(dets, func(i, j int) bool { return dets[i].Score > dets[j].Score })
	var keep []Detection
	for _, d := range dets {
		ok := true
		for _, k := range keep {
			if d.Box.iou(k.Box) > iou {
				ok = false
				break
			}
		}
		if ok {
			keep = append(keep, d)
		}
	}
	return keep
}

// fillOutside sets to v every pixel of dst (made through the axis-aligned
// crop t) whose source position lies outside the w×h image.
func fillOutside(dst *imageio.Image, t imageio.Affine, w, h int, v uint8) {
	for y := 0; y < dst.H; y++ {
		_, sy := t.Apply(0, float64(y))
		rowOut := sy < -0.5 || sy > float64(h)-0.5
		for x := 0; x < dst.W; x++ {
			sx, _ := t.Apply(float64(x), 0)
			if rowOut || sx < -0.5 || sx > float64(w)-0.5 {
				p := dst.Pix[3*(y*dst.W+x):]
				p[0], p[1], p[2] = v, v, v
			}
		}
	}
}
