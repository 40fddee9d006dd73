package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"

	"github.com/visagehq/visage/internal/api"
	"github.com/visagehq/visage/internal/api/wire"
	"github.com/visagehq/visage/internal/config"
	"github.com/visagehq/visage/internal/face"
	"github.com/visagehq/visage/internal/faceauth"
	"github.com/visagehq/visage/internal/imageio"
	"github.com/visagehq/visage/internal/models"
)

// engineFlags are the settings of every command that runs the models.
type engineFlags struct {
	cfg config.Engine
}

func (f *engineFlags) register(fs *flag.FlagSet) {
	config.RegisterEngine(fs, &f.cfg)
}

func (f *engineFlags) open() (*face.Engine, error) {
	m, err := models.Load(f.cfg.Manifest)
	if err != nil {
		return nil, err
	}
	if err := models.Verify(m, f.cfg.ModelsDir); err != nil {
		return nil, err
	}
	return face.New(face.Config{ModelsDir: f.cfg.ModelsDir, Manifest: m, Threads: f.cfg.Threads, SingleView: !f.cfg.FlipFusion})
}

func (f *engineFlags) limits() imageio.Limits {
	return imageio.Limits{MaxBytes: f.cfg.MaxBytes, MaxPixels: f.cfg.MaxPixels}
}

// loadImage reads and decodes one file; read errors get their own codes.
func loadImage(path string, lim imageio.Limits) (*imageio.Image, error) {
	img, _, err := loadImageInfo(path, lim)
	return img, err
}

// loadImageInfo is loadImage with the decode's Info (Scale: a large
// image is decoded downscaled).
func loadImageInfo(path string, lim imageio.Limits) (*imageio.Image, imageio.Info, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, imageio.Info{}, &fileError{"file_not_found", err}
	}
	if st.IsDir() {
		return nil, imageio.Info{}, &fileError{"not_a_file", fmt.Errorf("%s is a directory", path)}
	}
	if st.Size() > lim.MaxBytes && lim.MaxBytes > 0 {
		return nil, imageio.Info{}, fmt.Errorf("%w: %s is %d bytes", imageio.ErrTooLarge, path, st.Size())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, imageio.Info{}, &fileError{"read_error", err}
	}
	img, info, err := imageio.Decode(data, lim)
	if err != nil {
		return nil, info, fmt.Errorf("%s: %w", path, err)
	}
	return img, info, nil
}

type fileError struct {
	code string
	err  error
}

func (e *fileError) Error() string { return e.err.Error() }
func (e *fileError) Unwrap() error { return e.err }

func errorCode(err error) string {
	var fe *fileError
	if errors.As(err, &fe) {
		return fe.code
	}
	if errors.Is(err, fs.ErrNotExist) {
		return "file_not_found"
	}
	return string(api.ErrorCode(faceauth.Classify(err)))
}

func errPtr(err error) *string {
	if err == nil {
		return nil
	}
	s := errorCode(err)
	return &s
}

type detectResult struct {
	Path    string            `json:"path"`
	Faces   []wire.FaceDetail `json:"faces"`
	Error   *string           `json:"error"`
	Message string            `json:"message,omitempty"`
}

// perImage runs a command over image paths with the engine loaded once,
// printing one result per path; any failed path makes the exit status 2.
func perImage(ctx context.Context, name, about string, args []string, one func(eng *face.Engine, ef *engineFlags, path string) (any, error)) error {
	fs := newFlagSet(name, name+" [flags] IMAGE… (or --paths-from FILE)", about)
	var ef engineFlags
	ef.register(fs.FlagSet)
	jsonl := fs.Bool("jsonl", false, "print one JSON object per input path, one per line")
	from := fs.String("paths-from", "", "also read image paths from `FILE`, one per line, after the arguments; - reads standard input (for sets of any size)")
	paths, err := fs.parse(args)
	if err != nil {
		return err
	}
	if len(paths) == 0 && *from == "" {
		return fmt.Errorf("no images: usage: visage %s", fs.usage)
	}
	list, err := openPathList(paths, *from)
	if err != nil {
		return err
	}
	defer list.Close()
	eng, err := ef.open()
	if err != nil {
		return err
	}
	defer eng.Close()
	failed := false
	err = list.each(func(p string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		res, err := one(eng, &ef, p)
		failed = failed || err != nil
		return emit(res, *jsonl)
	})
	if err != nil {
		return err
	}
	if failed {
		return exitError{2}
	}
	return nil
}

func runDetect(ctx context.Context, args []string) error {
	return perImage(ctx, "detect", "Detect every face in each image and report its box, landmarks, quality, liveness and attributes.", args, func(eng *face.Engine, ef *engineFlags, p string) (any, error) {
		res := detectResult{Path: p, Faces: []wire.FaceDetail{}}
		img, info, err := loadImageInfo(p, ef.limits())
		var faces []face.Face
		if err == nil {
			faces, err = eng.Analyze(ctx, img, face.Options{Quality: true, Liveness: true, Attributes: true})
			for i := range faces { // report the file's own pixels
				faces[i] = faces[i].Scaled(1 / info.Scale)
			}
			res.Faces = wire.FaceDetails(faces)
		}
		if err != nil {
			res.Error, res.Message = errPtr(err), err.Error()
		}
		return res, err
	})
}

type embedResult struct {
	Path      string    `json:"path"`
	Faces     int       `json:"faces"`
	Model     string    `json:"model"`
	Embedding []float32 `json:"embedding"`
	Error     *string   `json:"error"`
	Message   string    `json:"message,omitempty"`
}

func runEmbed(ctx context.Context, args []string) error {
	return perImage(ctx, "embed", "Print the face count and the embedding of the most prominent face of each image.", args, func(eng *face.Engine, ef *engineFlags, p string) (any, error) {
		res := embedResult{Path: p, Model: eng.EmbeddingModel()}
		var err error
		res.Faces, res.Embedding, err = embedLargest(ctx, eng, p, ef.limits())
		if err != nil {
			res.Error, res.Message = errPtr(err), err.Error()
		}
		return res, err
	})
}

// embedLargest counts the faces in an image and embeds the largest.
func embedLargest(ctx context.Context, eng *face.Engine, p string, lim imageio.Limits) (int, []float32, error) {
	img, err := loadImage(p, lim)
	if err != nil {
		return 0, nil, err
	}
	dets, err := eng.Detect(ctx, img)
	if err != nil {
		return 0, nil, err
	}
	if len(dets) == 0 {
		return 0, nil, face.ErrNoFace
	}
	faces, err := eng.AnalyzeDetections(ctx, img, dets[:1], face.Options{Embed: true})
	if err != nil {
		return len(dets), nil, err
	}
	return len(dets), faces[0].Embedding.Vector, nil
}

func emit(v any, compact bool) error {
	enc := json.NewEncoder(os.Stdout)
	if !compact {
		enc.SetIndent("", "  ")
	}
	return enc.Encode(v)
}
