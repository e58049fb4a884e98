// Issue 27: SDKs of the `virt` plugin, generated from schema.virt.json by the Pulumi code generators
// (scripts/ensure-sdkgen.sh; `pulumi package gen-sdk` needs language hosts the Go module proxy does not serve). The
// generators bind the schema first, so an invalid schema fails here. The Go SDK is compiled together with a Go
// program that declares a Host, an lxc Hypervisor and a Container with it (the Go SDK github.com/pulumi/pulumi/sdk/v3
// from the Go module proxy); the Python SDK is byte-compiled. Running the Go program needs pulumi-language-go, which
// the Go module proxy does not serve: that part of the acceptance is not covered (see the report / README).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { REPO_ROOT, run } from "./harness";

const GO_PROGRAM = `package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"pulumi-virt/sdk/go/virt"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		h1, err := virt.NewHost(ctx, "h1", &virt.HostArgs{Connection: pulumi.Map{
			"host": pulumi.String("10.77.0.11"), "user": pulumi.String("root"),
		}})
		if err != nil {
			return err
		}
		lxc, err := virt.NewHypervisor(ctx, "lxc", &virt.HypervisorArgs{Host: h1.Ref, Kind: pulumi.String("lxc"), Bridge: pulumi.String("pvbr0")})
		if err != nil {
			return err
		}
		web, err := virt.NewContainer(ctx, "web", &virt.ContainerArgs{
			Hypervisor: lxc.Ref, Name: pulumi.String("web"), Memory: pulumi.Int(256), Cpus: pulumi.Int(1),
			Disk: &virt.ContainerDiskArgs{Size: pulumi.Int(300)},
		})
		if err != nil {
			return err
		}
		ctx.Export("observed", web.Observed)
		return nil
	})
}
`;

const goEnv = () => ({ ...process.env, PATH: ["/usr/local/go/bin", process.env.PATH].join(path.delimiter) });

test("Go SDK from schema.virt.json compiles with a program using Host, Hypervisor and Container; Python SDK byte-compiles", async (t) => {
  const bin = (await run("bash", [path.join(REPO_ROOT, "scripts/ensure-sdkgen.sh")])).stdout.trim().split("\n").pop()!;
  const sdkgen = path.join(bin, "pulumi-virt-sdkgen");
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "pv-sdks-"));
  t.after(() => fs.rmSync(out, { recursive: true, force: true }));
  const schema = path.join(REPO_ROOT, "schema.virt.json");
  for (const lang of ["go", "python", "nodejs"]) await run(sdkgen, [lang, schema, path.join(out, lang)]);

  const go = path.join(out, "go");
  assert.ok(fs.existsSync(path.join(go, "virt", "container.go")));
  const goSource = fs.readFileSync(path.join(go, "virt", "container.go"), "utf8");
  assert.match(goSource, /func NewContainer\(/);
  assert.match(goSource, /AdditionalSecretOutputs\(\[\]string\{[^}]*"environment"/, "environment is a secret output in the Go SDK");
  fs.mkdirSync(path.join(go, "cmd", "program"), { recursive: true });
  fs.writeFileSync(path.join(go, "cmd", "program", "main.go"), GO_PROGRAM);
  // The versions the CLI is built from (tools/pulumi-cli); go.sum comes from the Go module proxy (cached).
  fs.writeFileSync(path.join(go, "go.mod"), "module pulumi-virt/sdk/go\n\ngo 1.24\n\nrequire github.com/pulumi/pulumi/sdk/v3 v3.276.0\n");
  await run("go", ["mod", "tidy"], { cwd: go, env: goEnv() });
  await run("go", ["build", "./..."], { cwd: go, env: goEnv() });
  await run("go", ["vet", "./..."], { cwd: go, env: goEnv() });

  const py = path.join(out, "python", "pulumi_virt");
  assert.ok(fs.existsSync(path.join(py, "container.py")));
  await run("python3", ["-m", "py_compile", ...fs.readdirSync(py).filter((f) => f.endsWith(".py")).map((f) => path.join(py, f))]);
  assert.ok(fs.existsSync(path.join(out, "nodejs", "container.ts")));
});
