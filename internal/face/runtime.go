package face

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/visagehq/visage/internal/models"
)

// ONNX Runtime has one environment per process; every Engine shares it.
var (
	ortMu      sync.Mutex
	ortLibPath string
)

func initRuntime(lib string) error {
	ortMu.Lock()
	defer ortMu.Unlock()
	if ort.IsInitialized() {
		if lib != ortLibPath {
			return fmt.Errorf("onnxruntime already loaded from %s, cannot switch to %s", ortLibPath, lib)
		}
		return nil
	}
	if err := os.Setenv(ortTelemetryOff, "1"); err != nil {
		return fmt.Errorf("disable onnxruntime telemetry: %w", err)
	}
	ort.SetSharedLibraryPath(lib)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		return fmt.Errorf("load onnxruntime %s: %w", lib, err)
	}
	// Events too, for a runtime that does not know the variable.
	if err := ort.DisableTelemetry(); err != nil {
		return fmt.Errorf("disable onnxruntime telemetry: %w", err)
	}
	ortLibPath = lib
	return nil
}

// ortTelemetryOff is read by ONNX Runtime (1.30's Linux build) while
// creating its environment, so it has to be set before, not by
// DisableTelemetry afterwards. Left on, that telemetry (Microsoft's 1DS
// SDK) reads /proc/self/cmdline and matches it with std::regex, whose
// executor recurses once per character: a command line over ~29 KB (700
// image paths) overflows the 8 MB thread stack and the process dies with
// SIGSEGV in CreateOrtEnv. It would also send usage events to Microsoft
// from a server that promises that no data leaves the machine, and leave a
// mat-debug-PID.log in /tmp per process. So it is always off; cgo's
// os.Setenv reaches the C environment the library reads.
const ortTelemetryOff = "ORT_DISABLE_TELEMETRY"

// session is one loaded network. ONNX Runtime sessions are safe for
// concurrent Run calls, and each call here owns its own tensors.
type session struct {
	model *models.Model
	s     *ort.DynamicAdvancedSession
	// mu makes close wait for runs in flight and refuse later ones:
	// destroying a session under a running inference crashes the process
	// inside ONNX Runtime (seen on shutdown under load).
	mu     sync.RWMutex
	closed bool
}

func newSession(dir string, m *models.Model, threads int) (*session, error) {
	opts, err := ort.NewSessionOptions()
	if err != nil {
		return nil, err
	}
	defer opts.Destroy()
	if err := configure(opts, threads); err != nil {
		return nil, err
	}
	s, err := ort.NewDynamicAdvancedSession(filepath.Join(dir, m.File), []string{m.Input}, m.Outputs, opts)
	if err != nil {
		return nil, fmt.Errorf("load model %s (%s): %w", m.ID, m.File, err)
	}
	return &session{model: m, s: s}, nil
}

// configure turns off thread spin-waiting: spinning threads burn the CPU
// that the next pipeline stage or a concurrent request needs (measured:
// fr_feature 102 ms vs 74 ms inside the pipeline with spinning on).
func configure(o *ort.SessionOptions, threads int) error {
	steps := []func() error{
		func() error { return o.SetIntraOpNumThreads(threads) },
		func() error { return o.SetInterOpNumThreads(1) },
		func() error { return o.AddSessionConfigEntry("session.intra_op.allow_spinning", "0") },
		func() error { return o.AddSessionConfigEntry("session.inter_op.allow_spinning", "0") },
		func() error { return o.SetGraphOptimizationLevel(ort.GraphOptimizationLevelEnableAll) },
	}
	for _, f := range steps {
		if err := f(); err != nil {
			return fmt.Errorf("session options: %w", err)
		}
	}
	return nil
}

// run feeds one input tensor of the model's shape and returns each output
// flattened, in the manifest's output order.
func (s *session) run(input []float32) ([][]float32, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, fmt.Errorf("%s: %w", s.model.ID, ErrClosed)
	}
	in, err := ort.NewTensor(ort.NewShape(s.model.Shape...), input)
	if err != nil {
		return nil, fmt.Errorf("%s: input tensor: %w", s.model.ID, err)
	}
	defer in.Destroy()
	outs := make([]ort.Value, len(s.model.Outputs))
	if err := s.s.Run([]ort.Value{in}, outs); err != nil {
		return nil, fmt.Errorf("%s: run: %w", s.model.ID, err)
	}
	res := make([][]float32, len(outs))
	for i, v := range outs {
		t, ok := v.(*ort.Tensor[float32])
		if !ok {
			destroyAll(outs)
			return nil, fmt.Errorf("%s: output %s is not float32", s.model.ID, s.model.Outputs[i])
		}
		res[i] = append([]float32(nil), t.GetData()...)
	}
	destroyAll(outs)
	return res, nil
}

func destroyAll(vs []ort.Value) {
	for _, v := range vs {
		if v != nil {
			v.Destroy()
		}
	}
}

func (s *session) close() error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.s.Destroy()
}
