// Issue 27: SDKs of the `virt` plugin, generated from schema.virt.json by the Pulumi code generators
// (scripts/ensure-sdkgen.sh; `pulumi package gen-sdk` needs language hosts the Go module proxy does not serve). The
// generators bind the schema first, so an invalid schema fails here. The Go SDK is compiled together with a Go
// program that declares a Host, an lxc Hypervisor and a Container with it (the Go SDK github.com/pulumi/pulumi/sdk/v3
// from the Go module proxy); the Python SDK is byte-compiled. Then a Go program runs through the real CLI (the minimal
// pulumi-language-go of tools/pulumi-sdkgen) against lab host h1: it creates a Host, an lxc Hypervisor and a
// Container, resizes it live (preview --diff shows `~ memory`, the init PID stays) and destroys it. Where a Python
// environment with the `pulumi` Python SDK is found (PULUMI_VIRT_PYTHON, else python3 on PATH: python-env.ts), the
// generated Python SDK is installed beside it and imported, and a Python program does the same as the Go one through
// the CLI (the minimal pulumi-language-python of tools/pulumi-sdkgen); without one, those two tests are skipped.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { REPO_ROOT, run, TestStack } from "./harness";
import { findPythonEnv, installGeneratedSdk, PythonEnv } from "./python-env";
import { ensureLab, LabHost, loadLab, onHost, onHostOk } from "../support/lab";

const GO_PROGRAM = `package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
	"pulumi-virt/sdk/go/virt"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		cfg := config.New(ctx, "")
		h1, err := virt.NewHost(ctx, "h1", &virt.HostArgs{Connection: pulumi.Map{
			"host": pulumi.String(cfg.Require("address")), "user": pulumi.String("root"),
			"privateKey": cfg.RequireSecret("privateKey"), "hostKey": pulumi.String(cfg.Require("hostKey")),
		}})
		if err != nil {
			return err
		}
		lxc, err := virt.NewHypervisor(ctx, "lxc", &virt.HypervisorArgs{Host: h1.Ref, Kind: pulumi.String("lxc"), Bridge: pulumi.String(cfg.Require("bridge"))})
		if err != nil {
			return err
		}
		web, err := virt.NewContainer(ctx, "web", &virt.ContainerArgs{
			Hypervisor: lxc.Ref, Name: pulumi.String(cfg.Require("name")), Memory: pulumi.Int(cfg.RequireInt("memory")), Cpus: pulumi.Int(1),
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

const PYTHON_PROGRAM = `import pulumi
import pulumi_virt as virt

cfg = pulumi.Config()
h1 = virt.Host("h1", connection={
    "host": cfg.require("address"), "user": "root",
    "privateKey": cfg.require_secret("privateKey"), "hostKey": cfg.require("hostKey"),
})
lxc = virt.Hypervisor("lxc", host=h1.ref, kind="lxc", bridge=cfg.require("bridge"))
web = virt.Container("web", hypervisor=lxc.ref, name=cfg.require("name"), memory=cfg.require_int("memory"), cpus=1,
                     disk=virt.ContainerDiskArgs(size=300))
pulumi.export("observed", web.observed)
`;

const goEnv = () => ({ ...process.env, PATH: ["/usr/local/go/bin", process.env.PATH].join(path.delimiter) });

const out = fs.mkdtempSync(path.join(os.tmpdir(), "pv-sdks-"));
process.on("exit", () => fs.rmSync(out, { recursive: true, force: true }));
let toolsBin = "";

test("Go SDK from schema.virt.json compiles with a program using Host, Hypervisor and Container; Python SDK byte-compiles", async () => {
  toolsBin = (await run("bash", [path.join(REPO_ROOT, "scripts/ensure-sdkgen.sh")])).stdout.trim().split("\n").pop()!;
  const sdkgen = path.join(toolsBin, "pulumi-virt-sdkgen");
  const schema = path.join(REPO_ROOT, "schema.virt.json");
  for (const lang of ["go", "python", "nodejs"]) await run(sdkgen, [lang, schema, path.join(out, lang)]);

  const go = path.join(out, "go");
  assert.ok(fs.existsSync(path.join(go, "virt", "container.go")));
  const goSource = fs.readFileSync(path.join(go, "virt", "container.go"), "utf8");
  assert.match(goSource, /func NewContainer\(/);
  assert.match(goSource, /AdditionalSecretOutputs\(\[\]string\{[^}]*"environment"/, "environment is a secret output in the Go SDK");
  fs.mkdirSync(path.join(go, "cmd", "program"), { recursive: true });
  fs.writeFileSync(path.join(go, "cmd", "program", "main.go"), GO_PROGRAM);
  fs.writeFileSync(path.join(go, "cmd", "program", "Pulumi.yaml"), "name: virt-go-e2e\nruntime: go\n");
  // The versions the CLI is built from (tools/pulumi-cli); go.sum comes from the Go module proxy (cached).
  fs.writeFileSync(path.join(go, "go.mod"), "module pulumi-virt/sdk/go\n\ngo 1.24\n\nrequire github.com/pulumi/pulumi/sdk/v3 v3.276.0\n");
  await run("go", ["mod", "tidy"], { cwd: go, env: goEnv() });
  await run("go", ["build", "./..."], { cwd: go, env: goEnv() });

  const py = path.join(out, "python", "pulumi_virt");
  assert.ok(fs.existsSync(path.join(py, "container.py")));
  await run("python3", ["-m", "py_compile", ...fs.readdirSync(py).filter((f) => f.endsWith(".py")).map((f) => path.join(py, f))]);
  assert.ok(fs.existsSync(path.join(out, "nodejs", "container.ts")));
});

test("a Go program through the plugin: create Host + lxc Hypervisor + Container, live resize with ~memory, destroy", async (t) => {
  assert.ok(toolsBin, "the SDK test above ran first");
  await ensureLab();
  const h1 = loadLab().hosts.find((h) => h.name === "h1")!;
  const name = `plgo-${randomBytes(3).toString("hex")}`;
  // The program is built inside the generated SDK's module (cmd/program), so it needs no module of its own.
  process.env.PATH = [path.join(REPO_ROOT, "plugin"), toolsBin, "/usr/local/go/bin", path.dirname(process.execPath), process.env.PATH].join(path.delimiter);
  const consumer = fs.mkdtempSync(path.join(os.tmpdir(), "pv-plugin-go-"));
  const stack = await TestStack.create({
    program: path.join(out, "go", "cmd", "program"),
    consumer,
    config: { address: h1.address, hostKey: h1.hostKey, bridge: h1.bridge, name, memory: "256" },
    secrets: { privateKey: fs.readFileSync(h1.privateKeyPath, "utf8") },
  });
  t.after(async () => {
    await stack.destroy().catch(() => undefined);
    await stack.rm();
    fs.rmSync(consumer, { recursive: true, force: true });
    await onHost(h1, ["lxc-destroy", "-f", "-n", name]);
  });
  // The copy must still build inside the SDK's module: point it back at it.
  fs.writeFileSync(
    path.join(stack.dir, "go.mod"),
    `module virt-go-e2e\n\ngo 1.24\n\nrequire (\n\tgithub.com/pulumi/pulumi/sdk/v3 v3.276.0\n\tpulumi-virt/sdk/go v0.0.0\n)\n\nreplace pulumi-virt/sdk/go => ${path.join(out, "go")}\n`,
  );
  fs.copyFileSync(path.join(out, "go", "go.sum"), path.join(stack.dir, "go.sum"));
  await run("go", ["mod", "tidy"], { cwd: stack.dir, env: goEnv() });
  await createResizeDestroy(stack, h1, name);
});

/** The cycle both SDK programs run: create, a live memory resize previewed per property (same init), destroy. */
async function createResizeDestroy(stack: TestStack, h1: LabHost, name: string): Promise<void> {
  await stack.up();
  const pid = (await onHostOk(h1, ["lxc-info", "-n", name, "-p", "-H"])).trim();
  assert.match(pid, /^\d+$/);
  await stack.setConfig("memory", "384");
  const preview = await stack.preview({ diff: true });
  assert.match(preview.stdout, /~ virt:index:Container: \(update\)[\s\S]*~ memory: 256 => 384/);
  const up = await stack.up();
  assert.match(up.stdout, /\[diff: ~memory\]/);
  assert.equal((await onHostOk(h1, ["lxc-info", "-n", name, "-p", "-H"])).trim(), pid, "resized live: same init");
  assert.equal((await onHostOk(h1, ["lxc-cgroup", "-n", name, "memory.limit_in_bytes"])).trim(), String(384 * 1024 * 1024));
  await stack.destroy();
  assert.notEqual((await onHost(h1, ["lxc-info", "-n", name])).code, 0, "destroyed");
}

let python: PythonEnv | undefined;
const pythonSite = path.join(out, "python-site");

test("the generated Python SDK installs beside the user's `pulumi` Python SDK and imports", async (t) => {
  assert.ok(toolsBin, "the SDK test above ran first");
  const found = await findPythonEnv();
  if (typeof found === "string") return t.skip(found);
  python = found;
  await installGeneratedSdk(python, path.join(out, "python"), pythonSite);
  const probe = await run(python.python, ["-c", [
    "import pulumi_virt as v, pulumi_virt._utilities as u",
    "print(v.Container.__name__, v.Hypervisor.__name__, v.Host.__name__, u.get_version())",
  ].join("\n")], { env: { ...process.env, PYTHONPATH: pythonSite } });
  assert.equal(probe.stdout.trim(), "Container Hypervisor Host 0.0.0");
});

test("a Python program through the plugin: create Host + lxc Hypervisor + Container, live resize with ~memory, destroy", async (t) => {
  if (!python) return t.skip("no Python environment with the `pulumi` SDK (see the test above)");
  const langhost = (await run("bash", [path.join(REPO_ROOT, "scripts/ensure-langhost-python.sh")])).stdout.trim().split("\n").pop()!;
  await ensureLab();
  const h1 = loadLab().hosts.find((h) => h.name === "h1")!;
  const name = `plpy-${randomBytes(3).toString("hex")}`;
  process.env.PATH = [path.join(REPO_ROOT, "plugin"), langhost, path.dirname(process.execPath), process.env.PATH].join(path.delimiter);
  const program = fs.mkdtempSync(path.join(os.tmpdir(), "pv-plugin-py-"));
  const consumer = fs.mkdtempSync(path.join(os.tmpdir(), "pv-plugin-py-consumer-"));
  fs.writeFileSync(path.join(program, "__main__.py"), PYTHON_PROGRAM);
  const runtime = python.virtualenv
    ? `runtime:\n  name: python\n  options:\n    virtualenv: ${python.virtualenv}\n`
    : "runtime: python\n";
  fs.writeFileSync(path.join(program, "Pulumi.yaml"), `name: virt-python-e2e\n${runtime}`);
  if (!python.virtualenv) process.env.PATH = [path.dirname(python.python), process.env.PATH].join(path.delimiter);
  const stack = await TestStack.create({
    program,
    consumer,
    config: { address: h1.address, hostKey: h1.hostKey, bridge: h1.bridge, name, memory: "256" },
    secrets: { privateKey: fs.readFileSync(h1.privateKeyPath, "utf8") },
    env: { PYTHONPATH: pythonSite },
  });
  t.after(async () => {
    await stack.destroy().catch(() => undefined);
    await stack.rm();
    fs.rmSync(program, { recursive: true, force: true });
    fs.rmSync(consumer, { recursive: true, force: true });
    await onHost(h1, ["lxc-destroy", "-f", "-n", name]);
  });
  await createResizeDestroy(stack, h1, name);
});
