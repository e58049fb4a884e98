// The one way every pulumi-virt resource gets its dynamic provider.
//
// A Pulumi dynamic resource carries its provider as JavaScript text in the `__provider` input; the
// `pulumi-resource-pulumi-nodejs` process loads that text as a module (with require-from-string),
// calls its `exports.handler()` and uses the object it returns. `pulumi.dynamic.Resource` makes the
// text by serializing a closure, which parses the functions with the TypeScript compiler: ~0.2 s of
// the user's program's CPU per resource type on every preview and up. pulumi-virt's providers do not
// need a closure: each is the same small loader that `require()`s the real implementation when a
// method is called and forwards to it. So the text is written out here, once, as a fixed module
// (LazyResource below does what pulumi.dynamic.Resource does, with this text). It is stored with
// every resource, so it must stay tiny and stable across pulumi-virt versions; the engine does not
// diff it (a changed text never causes an update or a replacement).
//
// Resolution: the dynamic-provider process loads the text as a module with no file name, so its
// `require` resolves from that process's working directory, which the engine sets to the program's
// directory. A bare package specifier therefore finds pulumi-virt in the program's node_modules,
// exactly like the program's own `import "pulumi-virt"`.
import * as pulumi from "@pulumi/pulumi";

/** Where the implementation modules live, as seen from a program that depends on pulumi-virt. */
export const IMPL_BASE = "pulumi-virt/dist/provider/resources/impl";

/**
 * The `__provider` text for the implementation module `spec`: a provider whose methods load `spec` when called
 * and forward to its same-named exports. Missing check/diff/read/update/delete behave like Pulumi's defaults.
 * Results cross gRPC as protobuf Structs, which reject `undefined` anywhere: such keys are dropped.
 */
export function providerText(spec: string): string {
  return `"use strict";
// pulumi-virt dynamic provider: loads ${spec.replace(/[^\w./@-]/g, "?")} when a method is called.
const spec = ${JSON.stringify(spec)};
function load() {
  try {
    return require(spec);
  } catch (e) {
    if (e && e.code === "MODULE_NOT_FOUND" && String(e.message).includes(spec)) {
      throw new Error("cannot load " + spec + " from " + process.cwd() + ": install pulumi-virt in the Pulumi program's directory (npm install pulumi-virt)");
    }
    throw e;
  }
}
const plain = (v) => (v === undefined ? v : JSON.parse(JSON.stringify(v)));
const provider = {
  async check(olds, news) { const m = load(); return plain(m.check ? await m.check(olds, news) : { inputs: news }); },
  // An empty diff means "unknown": the engine then compares old and new inputs itself.
  async diff(id, olds, news) { const m = load(); return plain(m.diff ? await m.diff(id, olds, news) : {}); },
  async create(inputs) { return plain(await load().create(inputs)); },
  async read(id, props) { const m = load(); return plain(m.read ? await m.read(id, props) : { id, props }); },
  async update(id, olds, news) { const m = load(); return plain(m.update ? await m.update(id, olds, news) : { outs: news }); },
  async delete(id, props) { const m = load(); if (m.delete) await m.delete(id, props); },
};
exports.handler = () => provider;
`;
}

const texts = new Map<string, string>();

/**
 * A dynamic resource whose provider is the implementation module `<implBase>/<implName>` (see providerText).
 * Same type token and inputs as `pulumi.dynamic.Resource` would give (`pulumi-nodejs:dynamic/<module>:<type>`),
 * so stacks made with either move freely between them. `implBase` is for tests and fixtures: a relative base
 * resolves from the program directory.
 */
export class LazyResource extends pulumi.CustomResource {
  constructor(
    implName: string,
    name: string,
    props: pulumi.Inputs,
    opts: pulumi.CustomResourceOptions | undefined,
    module: string,
    type: string,
    implBase: string = IMPL_BASE,
  ) {
    if (props.__provider !== undefined) throw new Error("A dynamic resource must not define the __provider key");
    const spec = implBase + "/" + implName;
    let text = texts.get(spec);
    if (text === undefined) texts.set(spec, (text = providerText(spec)));
    super(`pulumi-nodejs:dynamic/${module}:${type}`, name, { ...props, __provider: text }, opts);
  }
}
