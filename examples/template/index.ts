// A user program reusing the WebTier component: the tier's size is one knob; preview shows, per member,
// whether the new size applies live (it does, for containers).
import * as pulumi from "@pulumi/pulumi";
import { Host, Hypervisor, WebTier, WebTierSize } from "pulumi-virt";

interface HostConfig { name: string; address: string; port?: number; user?: string; hostKey: string; bridge?: string; guestSubnet?: string }

const cfg = new pulumi.Config();
const hosts = cfg.requireObject<HostConfig[]>("hosts");
const privateKey = cfg.requireSecret("privateKey");

const hypervisors = hosts.map((h) => {
  const host = new Host(h.name, { connection: { host: h.address, port: h.port ?? 22, user: h.user ?? "root", privateKey, hostKey: h.hostKey } });
  return new Hypervisor(`${h.name}-lxc`, { host, kind: "lxc", bridge: h.bridge ?? "pvbr0" });
});
const subnetBase = (h: HostConfig, offset: number) => {
  const [ip, len] = (h.guestSubnet ?? "10.77.101.0/24").split("/");
  const o = ip.split(".").map(Number);
  return { address: `${o[0]}.${o[1]}.${o[2]}.${o[3] + offset}/${len}`, gateway: `${o[0]}.${o[1]}.${o[2]}.${o[3] + 1}` };
};

const tier = new WebTier("web", {
  hypervisors,
  count: cfg.getNumber("count") ?? 2,
  size: (cfg.get("size") ?? "small") as WebTierSize,
  prefix: cfg.get("prefix") ?? "web",
  firstAddress: hosts.map((h) => subnetBase(h, 20).address),
  gateway: hosts.map((h) => subnetBase(h, 20).gateway),
});

export const members = tier.names;
export const planned = tier.members.map((m) => m.plannedChanges);
