// Command pulumi-language-go is a minimal Go language host for the Pulumi engine, for the `virt` plugin's tests.
//
// The official host (module github.com/pulumi/pulumi/sdk/go/pulumi-language-go/v3) is not served by the Go module
// proxy. This one does what up/preview/refresh/destroy need: Run builds the program in its directory with `go build`
// and runs the binary with the environment the Go SDK's pulumi.Run reads (monitor, engine, project, stack, config,
// dry run, parallelism). It reports no required plugins (providers are found on PATH) and installs nothing.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"

	"pulumi-virt/tools/pulumi-sdkgen/langhostkit"
)

func main() {
	langhostkit.Serve("pulumi-language-go", func(engine string) pulumirpc.LanguageRuntimeServer {
		return &goLanguageHost{Base: langhostkit.Base{EngineAddress: engine}}
	})
}

type goLanguageHost struct {
	langhostkit.Base
}

// Run builds and runs the program; the Go SDK in it talks to the resource monitor itself.
func (h *goLanguageHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	dir := req.GetPwd()
	if d := req.GetInfo().GetProgramDirectory(); d != "" {
		dir = d
	}
	tmp, err := os.MkdirTemp("", "pulumi-go-program-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	binary := filepath.Join(tmp, "program")
	build := exec.CommandContext(ctx, "go", "build", "-o", binary, ".")
	build.Dir = dir
	build.Stdout = os.Stderr
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("go build in %s failed: %v", dir, err)}, nil
	}
	configEnv, err := langhostkit.ConfigEnv(req)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, binary, req.GetArgs()...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"PULUMI_MONITOR="+req.GetMonitorAddress(),
		"PULUMI_ENGINE="+h.EngineAddress,
		"PULUMI_ORGANIZATION="+req.GetOrganization(),
		"PULUMI_PROJECT="+req.GetProject(),
		"PULUMI_STACK="+req.GetStack(),
		"PULUMI_DRY_RUN="+strconv.FormatBool(req.GetDryRun()),
		"PULUMI_PARALLEL="+strconv.Itoa(int(req.GetParallel())),
	)
	cmd.Env = append(cmd.Env, configEnv...)
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			// The Go SDK has reported the error to the engine already.
			return &pulumirpc.RunResponse{Bail: true}, nil
		}
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("running the program: %v", err)}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}
