import * as pulumi from "@pulumi/pulumi";
import type { HypervisorRef } from "../models/hypervisor";
import { Container } from "../resources/container";
import type { Hypervisor } from "../resources/hypervisor";

/** One knob for the whole tier: a named size, applied to every member (changes are planned per member). */
export const WEB_TIER_SIZES = {
  small: { cpus: 1, memory: "256MiB", disk: "300MiB" },
  medium: { cpus: 2, memory: "512MiB", disk: "600MiB" },
  large: { cpus: 2, memory: "1GiB", disk: "1GiB" },
} as const;
export type WebTierSize = keyof typeof WEB_TIER_SIZES;

export interface WebTierArgs {
  /** lxc Hypervisors to spread members over, round robin. */
  hypervisors: (Hypervisor | pulumi.Input<HypervisorRef>)[];
  /** Number of members. */
  count: number;
  size: WebTierSize;
  /** Member names are `${prefix}-${i}`. */
  prefix: string;
  /** Per hypervisor, the first static address of the tier (members get consecutive addresses), with prefix length. */
  firstAddress?: string[];
  gateway?: string[];
  allowRestart?: boolean;
}

/** A reusable web tier: N system containers of one size, spread over hosts. Import it into your own program. */
export class WebTier extends pulumi.ComponentResource {
  public readonly members: Container[];
  public readonly names: pulumi.Output<string[]>;

  constructor(name: string, args: WebTierArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pulumi-virt:index:WebTier", name, {}, opts);
    if (!(args.size in WEB_TIER_SIZES)) {
      throw new Error(`WebTier ${name}: size must be one of ${Object.keys(WEB_TIER_SIZES).join(", ")}; got ${JSON.stringify(args.size)}`);
    }
    if (!Number.isInteger(args.count) || args.count < 0 || args.count > 256) throw new Error(`WebTier ${name}: count must be a whole number from 0 to 256`);
    if (args.hypervisors.length === 0) throw new Error(`WebTier ${name}: give at least one hypervisor`);
    const size = WEB_TIER_SIZES[args.size];
    this.members = [];
    const perHost: number[] = args.hypervisors.map(() => 0);
    for (let i = 0; i < args.count; i++) {
      const h = i % args.hypervisors.length;
      const first = args.firstAddress?.[h];
      let network: { address: string; gateway?: string } | undefined;
      if (first) {
        const [ip, prefixLen] = first.split("/");
        const o = ip.split(".").map(Number);
        network = { address: `${o[0]}.${o[1]}.${o[2]}.${o[3] + perHost[h]}/${prefixLen}`, gateway: args.gateway?.[h] };
      }
      perHost[h]++;
      this.members.push(
        new Container(`${name}-${i}`, {
          hypervisor: args.hypervisors[h],
          name: `${args.prefix}-${i}`,
          cpus: size.cpus,
          memory: size.memory,
          disk: { size: size.disk, fstype: "xfs" },
          network,
          allowRestart: args.allowRestart,
        }, { parent: this }),
      );
    }
    this.names = pulumi.all(this.members.map((m) => m.name));
    this.registerOutputs({ names: this.names });
  }
}
