package video

import (
	"context"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/visagehq/visage/internal/testenv"
)

// BenchmarkSelfieVideo is the verification service's whole path for a
// 10 s 1280×720 30 fps H.264 selfie (amy looking at the camera for 4 s,
// then turning her head each way, the camera shaking): Probe, Frames at
// the defaults (5 fps, 50 frames, 720 px), Analyze with the real engine.
// Reported per clip: each stage's time; ffmpeg's peak RSS, measured by
// /usr/bin/time around it (its own process); the live Go heap holding
// the frames; and this process's peak RSS, engine included.
func BenchmarkSelfieVideo(b *testing.B) {
	eng := testEngine(b)
	dir := b.TempDir()
	path := selfie720(b, dir)
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("clip: 10 s 1280×720 30 fps H.264, %d bytes", st.Size())
	var d Decoder
	rssLog := filepath.Join(dir, "ffmpeg-rss.log")
	if timeBin, err := exec.LookPath("/usr/bin/time"); err == nil {
		ffmpeg, err := d.ffmpeg()
		if err != nil {
			b.Fatal(err)
		}
		wrapper := filepath.Join(dir, "ffmpeg-timed")
		script := fmt.Sprintf("#!/bin/sh\nexec %s -a -o %s -f %%M %s \"$@\"\n", timeBin, rssLog, ffmpeg)
		if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
			b.Fatal(err)
		}
		d.FFmpeg = wrapper
	}
	opt := policy(eng)
	ctx := context.Background()
	var probe, decode, analyze time.Duration
	var frames int
	var heap uint64
	for b.Loop() {
		t0 := time.Now()
		info, err := d.Probe(ctx, path)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		fr, err := d.Frames(ctx, path, FrameOptions{Info: info})
		if err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		b.StopTimer()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		heap = max(heap, ms.HeapAlloc)
		b.StartTimer()
		t2b := time.Now()
		a, err := Analyze(ctx, eng, fr, opt)
		if err != nil {
			b.Fatal(err)
		}
		t3 := time.Now()
		if !a.Identity.SamePerson || len(a.Best) == 0 || a.FaceFrames != len(fr) {
			b.Fatalf("identity %+v best %v faces %d/%d", a.Identity, a.Best, a.FaceFrames, len(fr))
		}
		probe, decode, analyze = probe+t1.Sub(t0), decode+t2.Sub(t1), analyze+t3.Sub(t2b)
		frames = len(fr)
	}
	n := float64(b.N)
	b.ReportMetric(float64(frames), "frames/clip")
	b.ReportMetric(float64(probe.Milliseconds())/n, "probe-ms")
	b.ReportMetric(float64(decode.Milliseconds())/n, "decode-ms")
	b.ReportMetric(float64(analyze.Milliseconds())/n, "analyze-ms")
	b.ReportMetric(float64(heap)/(1<<20), "live-heap-with-frames-MB")
	if kb := maxLogged(rssLog); kb > 0 {
		b.ReportMetric(float64(kb)/1024, "ffmpeg-peak-RSS-MB")
	}
	if hwm := vmHWM(); hwm > 0 {
		b.ReportMetric(float64(hwm)/(1<<20), "process-peak-RSS-MB")
	}
}

// selfie720 builds the benchmark clip with ffmpeg alone from three
// camera stills, so that building it costs this process no memory.
func selfie720(b *testing.B, dir string) string {
	b.Helper()
	stills := []struct {
		photo  []string
		mirror bool
		secs   int
	}{{amyFront, false, 4}, {amyTurned, false, 3}, {amyTurned, true, 3}}
	var args []string
	var filter strings.Builder
	for i, s := range stills {
		p := filepath.Join(dir, fmt.Sprintf("still%d.png", i))
		f, err := os.Create(p)
		if err != nil {
			b.Fatal(err)
		}
		err = png.Encode(f, testenv.CameraImage(b, s.mirror, s.photo...).ToRGBA())
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		args = append(args, "-loop", "1", "-framerate", "30", "-t", strconv.Itoa(s.secs), "-i", p)
		// A 16:9 window of the 4:3 still, shaken by a few pixels.
		fmt.Fprintf(&filter, "[%d:v]crop=624:351:8+6*sin(n/3):64+4*cos(n/4),scale=1280:720,setsar=1[v%d];", i, i)
	}
	filter.WriteString("[v0][v1][v2]concat=n=3:v=1:a=0[out]")
	out := filepath.Join(dir, "selfie720.mp4")
	ffmpegRun(b, append(args, "-filter_complex", filter.String(), "-map", "[out]",
		"-c:v", "libx264", "-preset", "medium", "-pix_fmt", "yuv420p", "-r", "30", out)...)
	return out
}

func maxLogged(path string) int64 {
	data, _ := os.ReadFile(path)
	var m int64
	for _, f := range strings.Fields(string(data)) {
		if v, err := strconv.ParseInt(f, 10, 64); err == nil {
			m = max(m, v)
		}
	}
	return m
}

// vmHWM is this process's peak resident set (Linux), 0 elsewhere.
func vmHWM() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}
