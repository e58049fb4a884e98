// The one way every pulumi-virt resource builds its dynamic provider.
//
// Pulumi serializes a dynamic provider's methods (with everything they capture) into each
// resource's state as `__provider`, and later runs that text in the `pulumi-resource-pulumi-nodejs`
// process. So the serialized object must stay tiny and stable across pulumi-virt versions:
// its methods only `require()` the real implementation at call time and delegate to it.
//
// Resolution: the closure serializer never captures `require`; the dynamic-provider process
// loads the provider text as a module with no file name, so `require` resolves from that
// process's working directory, which the engine sets to the program's directory. A bare package
// specifier therefore finds pulumi-virt in the program's node_modules, exactly like the
// program's own `import "pulumi-virt"`.
import type * as pulumi from "@pulumi/pulumi";

/** Where the implementation modules live, as seen from a program that depends on pulumi-virt. */
export const IMPL_BASE = "pulumi-virt/dist/provider/resources/impl";

/**
 * A dynamic provider that loads `<implBase>/<implName>` when a method is called and forwards
 * to its same-named export. Missing check/diff/read/update/delete behave like Pulumi's defaults.
 * `implBase` is for tests and fixtures: a relative base resolves from the program directory.
 */
export function lazyProvider(implName: string, implBase: string = IMPL_BASE): pulumi.dynamic.ResourceProvider {
  // One provider object per implementation: Pulumi caches a provider's serialized text by object identity,
  // and serializing a closure costs tens of ms of CPU in the program, which with a fresh object per
  // resource was paid again for every Container and Guest of a stack.
  const key = implBase + "/" + implName;
  let p = providers.get(key);
  if (!p) {
    p = makeLazyProvider(key);
    providers.set(key, p);
  }
  return p;
}

const providers = new Map<string, pulumi.dynamic.ResourceProvider>();

/** `spec` is the module path, precomputed so the serialized text captures one string, not this module. */
function makeLazyProvider(spec: string): pulumi.dynamic.ResourceProvider {
  const load = (): Record<string, Function | undefined> => {
    try {
      return require(spec);
    } catch (e) {
      const err = e as { code?: string; message?: string };
      if (err.code === "MODULE_NOT_FOUND" && String(err.message).includes(spec)) {
        throw new Error(`cannot load ${spec} from ${process.cwd()}: install pulumi-virt in the Pulumi program's directory (npm install pulumi-virt)`);
      }
      throw e;
    }
  };
  // Results cross gRPC as protobuf Structs, which reject `undefined` anywhere: drop such keys.
  const plain = <T>(v: T): T => (v === undefined ? v : JSON.parse(JSON.stringify(v)));
  return {
    async check(olds, news) {
      const m = load();
      return plain(m.check ? await m.check(olds, news) : { inputs: news });
    },
    // Method bodies are serialized verbatim into state, so their comments live out here.
    // diff: an empty result means "unknown", the engine then compares old and new inputs itself.
    async diff(id, olds, news) {
      const m = load();
      return plain(m.diff ? await m.diff(id, olds, news) : {});
    },
    async create(inputs) {
      return plain(await load().create!(inputs));
    },
    async read(id, props) {
      const m = load();
      return plain(m.read ? await m.read(id, props) : { id, props });
    },
    async update(id, olds, news) {
      const m = load();
      return plain(m.update ? await m.update(id, olds, news) : { outs: news });
    },
    async delete(id, props) {
      const m = load();
      if (m.delete) await m.delete(id, props);
    },
  };
}
