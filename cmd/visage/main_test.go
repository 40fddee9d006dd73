package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/visagehq/visage/internal/testenv"
)

// The tests here run the real binary, as a user's shell would: flags,
// exit codes and output are the command line's contract.

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.RemoveBinary()
	os.Exit(code)
}

// visageBin is the real binary, built once per test run.
func visageBin(t *testing.T) string { return testenv.VisageBinary(t) }

// userEnv is the test process's environment without what would hide a bug
// from the test: the VISAGE_* settings of whoever runs it, and the
// variables that make ONNX Runtime switch its telemetry off (it does so in
// CI and in its own test harness, so a crash in that code never shows up
// there but does in a user's shell).
func userEnv(extra ...string) []string {
	hidden := map[string]bool{}
	for _, name := range strings.Fields(`CI TF_BUILD GITHUB_ACTIONS GITLAB_CI CIRCLECI TRAVIS JENKINS_URL
		CODEBUILD_BUILD_ID BUILDKITE TEAMCITY_VERSION APPVEYOR BITBUCKET_BUILD_NUMBER
		SYSTEM_TEAMFOUNDATIONCOLLECTIONURI ORT_RUNNING_UNIT_TESTS ORT_DISABLE_TELEMETRY ORT_TELEMETRY_DISABLED`) {
		hidden[name] = true
	}
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if hidden[name] || strings.HasPrefix(name, "VISAGE_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// result is one run of the binary.
type result struct {
	stdout, stderr string
	code           int
}

// run runs the binary to completion (at most two minutes).
func run(t *testing.T, env []string, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, visageBin(t), args...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	res := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("visage %s: %v", strings.Join(args, " "), err)
	}
	return res
}
