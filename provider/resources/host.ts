import * as pulumi from "@pulumi/pulumi";
import type { HostFacts, HostRef } from "../models/host";
import { hostRefFrom } from "../models/refs";
import { LazyResource } from "./dynamic";

/** Connection settings, shaped like @pulumi/command's remote.Connection (see provider/ssh/connection.ts). */
export interface ConnectionInput {
  host: pulumi.Input<string>;
  port?: pulumi.Input<number>;
  user?: pulumi.Input<string>;
  privateKey?: pulumi.Input<string>;
  privateKeyPassword?: pulumi.Input<string>;
  password?: pulumi.Input<string>;
  agentSocket?: pulumi.Input<string>;
  /** Pinned host key: an OpenSSH public-key line or a "SHA256:..." fingerprint. */
  hostKey?: pulumi.Input<string>;
  /** Explicit opt-in to connect without a pinned host key (visible in the program and in state). */
  insecureSkipHostKeyCheck?: pulumi.Input<boolean>;
  proxy?: pulumi.Input<ConnectionInput>;
  sudo?: pulumi.Input<boolean>;
  dialTimeoutMs?: pulumi.Input<number>;
  commandTimeoutMs?: pulumi.Input<number>;
  maxChannels?: pulumi.Input<number>;
  execMode?: pulumi.Input<"session" | "exec">;
}

export interface HostArgs {
  connection: pulumi.Input<ConnectionInput>;
}

/** An existing machine reached over SSH; its facts are read on create and refresh. Deleting it only forgets it. */
export class Host extends LazyResource {
  declare public readonly connection: pulumi.Output<Record<string, unknown>>;
  declare public readonly facts: pulumi.Output<HostFacts>;
  /** What Hypervisors need: connection (secret) and facts. */
  public readonly ref: pulumi.Output<HostRef>;

  constructor(name: string, args: HostArgs, opts?: pulumi.CustomResourceOptions) {
    // The whole connection is a secret: keys and passwords never reach the state file in plain text.
    const connection = pulumi.secret(args.connection);
    super("host", name, { connection, facts: undefined }, { ...opts, additionalSecretOutputs: ["connection"] }, "pulumi-virt", "Host");
    this.ref = pulumi.secret(pulumi.all([this.connection, this.facts]).apply(([connection, facts]) => hostRefFrom({ connection, facts }) as unknown as HostRef));
  }
}
