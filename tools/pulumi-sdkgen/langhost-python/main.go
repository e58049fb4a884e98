// Command pulumi-language-python is a minimal Python language host for the Pulumi engine, for the `virt` plugin's
// tests.
//
// The official host (module github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3) is not served by the
// Go module proxy. This one does what up/preview/refresh/destroy need: Run starts the project's Python (the
// `virtualenv` runtime option's interpreter, else python3 on PATH) on runner.py, which configures the `pulumi` Python
// SDK installed in that environment and runs the program's __main__.py. It reports no required plugins (providers
// are found on PATH) and installs nothing: the environment must already hold the SDKs.
package main

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"

	"pulumi-virt/tools/pulumi-sdkgen/langhostkit"
)

// runner.py exits with this code after it has reported the program's error to the engine itself.
const reportedExitCode = 32

//go:embed runner.py
var runnerSource []byte

func main() {
	langhostkit.Serve("pulumi-language-python", func(engine string) pulumirpc.LanguageRuntimeServer {
		return &pythonLanguageHost{Base: langhostkit.Base{EngineAddress: engine}}
	})
}

type pythonLanguageHost struct {
	langhostkit.Base
}

// interpreter is the `virtualenv` option's python (relative to the project root, like Pulumi.yaml's other paths),
// else python3 from PATH.
func interpreter(info *pulumirpc.ProgramInfo) string {
	venv := ""
	if opts := info.GetOptions(); opts != nil {
		if v, ok := opts.GetFields()["virtualenv"]; ok {
			venv = v.GetStringValue()
		}
	}
	if venv == "" {
		return "python3"
	}
	if !filepath.IsAbs(venv) {
		venv = filepath.Join(info.GetRootDirectory(), venv)
	}
	return filepath.Join(venv, "bin", "python")
}

// Run runs the program's __main__.py under runner.py; the Python SDK in it talks to the resource monitor itself.
func (h *pythonLanguageHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	info := req.GetInfo()
	dir := req.GetPwd()
	if d := info.GetProgramDirectory(); d != "" {
		dir = d
	}
	program := dir
	if entry := info.GetEntryPoint(); entry != "" && entry != "." {
		program = filepath.Join(dir, entry)
	}
	tmp, err := os.MkdirTemp("", "pulumi-python-runner-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	runner := filepath.Join(tmp, "runner.py")
	if err := os.WriteFile(runner, runnerSource, 0o600); err != nil {
		return nil, err
	}
	configEnv, err := langhostkit.ConfigEnv(req)
	if err != nil {
		return nil, err
	}
	python := interpreter(info)
	args := []string{"-u", runner,
		"--monitor", req.GetMonitorAddress(), "--engine", h.EngineAddress,
		"--project", req.GetProject(), "--stack", req.GetStack(), "--organization", req.GetOrganization(),
		"--root-directory", info.GetRootDirectory(),
		"--parallel", strconv.Itoa(int(req.GetParallel())), "--dry-run", strconv.FormatBool(req.GetDryRun()),
		program}
	cmd := exec.CommandContext(ctx, python, append(args, req.GetArgs()...)...)
	cmd.Dir = dir
	// The Python SDK reads the configuration from these (pulumi.runtime.get_config_env).
	cmd.Env = append(os.Environ(), configEnv...)
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) && exitErr.ExitCode() == reportedExitCode {
			return &pulumirpc.RunResponse{Bail: true}, nil
		}
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("running %s with %s: %v", program, python, err)}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}
