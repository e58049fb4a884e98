// How a resource takes another one it builds on (a Host, a Hypervisor): the resource itself, or its `ref` (which a
// program may also build or get from elsewhere, e.g. a stack reference).
import * as pulumi from "@pulumi/pulumi";

/** A resource whose dependents take its `ref` output. */
export interface Referable<R> extends pulumi.CustomResource {
  readonly ref: pulumi.Output<R>;
}

type DependsOn = pulumi.CustomResourceOptions["dependsOn"];

function isReferable<R>(x: Referable<R> | pulumi.Input<R>): x is Referable<R> {
  return pulumi.CustomResource.isInstance(x) && "ref" in x && x.ref !== undefined;
}

/** The ref a dependent stores: the resource's `ref`, or the ref given instead of the resource. */
export function refOf<R>(x: Referable<R> | pulumi.Input<R>): pulumi.Output<R> {
  return isReferable(x) ? x.ref : (pulumi.output(x) as pulumi.Output<R>);
}

/** `dependsOn` plus the resource given (a ref given alone adds no dependency of its own). */
export function dependsOnRef<R>(dependsOn: DependsOn, x: Referable<R> | pulumi.Input<R>): DependsOn {
  return mergeDeps(dependsOn, isReferable(x) ? x : undefined);
}

/** `a` (as resource options take it: one, a list, or an Output of either) with `b` added. */
export function mergeDeps(a: DependsOn, b: pulumi.Resource | undefined): DependsOn {
  if (!b) return a;
  if (!a) return [b];
  const deps: pulumi.Output<pulumi.Resource[]> = pulumi.output(a).apply((x) => [...(Array.isArray(x) ? x : [x]), b] as pulumi.Resource[]);
  return deps;
}
