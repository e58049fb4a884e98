// The program under review: one container whose size comes from stack config. Change `size`, then run
// review.sh: the report says, per property, whether the change is live, restarts or replaces the container.
import * as pulumi from "@pulumi/pulumi";
import { Container, Host, Hypervisor } from "pulumi-virt";

const cfg = new pulumi.Config();
const h = cfg.requireObject<{ address: string; port?: number; hostKey: string; bridge?: string }>("host");
const size = cfg.requireObject<{ cpus: number; memory: string; disk: string }>("size");

const host = new Host("host", { connection: { host: h.address, port: h.port ?? 22, user: "root", privateKey: cfg.requireSecret("privateKey"), hostKey: h.hostKey } });
const lxc = new Hypervisor("lxc", { host, kind: "lxc", bridge: h.bridge ?? "pvbr0" });
const app = new Container("app", {
  hypervisor: lxc,
  name: cfg.get("name") ?? "review-app",
  cpus: size.cpus,
  memory: size.memory,
  disk: { size: size.disk },
  template: cfg.get("template") ?? "busybox",
  allowRestart: cfg.getBoolean("allowRestart") ?? false,
});

export const plannedChanges = app.plannedChanges;
export const lastApplied = app.lastApplied;
